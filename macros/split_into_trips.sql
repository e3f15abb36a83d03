{#-
    A vehicle's positions split into trips: a new trip starts at the vehicle's first
    position and after every gap longer than the `trip_gap_seconds` variable; distance
    is the sum of great-circle legs between consecutive positions of the same trip.

    `positions` names a relation or CTE with vehicle_id, position_id, event_at,
    latitude, longitude, speed_kmh and landed_at (a trip keeps the newest). Trips are numbered from 1 per vehicle, in the
    order they start; `int_trips_split` runs this over the whole history, and the
    incremental `fct_trips` over the positions after each vehicle's closed trips, adding
    the number of those.
-#}
{% macro split_into_trips(positions) -%}
    select
        vehicle_id,
        trip_number,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as positions,
        sum(leg_km) as distance_km,
        max(speed_kmh) as max_speed_kmh,
        max(landed_at) as landed_at
    from (
        select
            vehicle_id,
            event_at,
            speed_kmh,
            landed_at,
            sum(starts_trip) over (
                partition by vehicle_id
                order by event_at, position_id
                rows between unbounded preceding and current row
            ) as trip_number,
            case
                when starts_trip = 1 then 0.0
                else {{ haversine_km('previous_latitude', 'previous_longitude', 'latitude', 'longitude') }}
            end as leg_km
        from (
            select
                *,
                case
                    when previous_event_at is null then 1
                    when
                        {{ seconds_between('previous_event_at', 'event_at') }}
                        > {{ var('trip_gap_seconds') }}
                        then 1
                    else 0
                end as starts_trip
            from (
                select
                    vehicle_id,
                    position_id,
                    event_at,
                    latitude,
                    longitude,
                    speed_kmh,
                    landed_at,
                    lag(event_at) over (
                        partition by vehicle_id order by event_at, position_id
                    ) as previous_event_at,
                    lag(latitude) over (
                        partition by vehicle_id order by event_at, position_id
                    ) as previous_latitude,
                    lag(longitude) over (
                        partition by vehicle_id order by event_at, position_id
                    ) as previous_longitude
                from {{ positions }}
            ) as ordered
        ) as flagged
    ) as numbered
    group by vehicle_id, trip_number
{%- endmacro %}

{#- The mart's columns of trips from split_into_trips, numbered after `kept_trips`. -#}
{% macro trip_columns(trips, kept_trips='0') -%}
    select
        {{ dbt.concat([
            trips ~ '.vehicle_id',
            "'#'",
            'cast(' ~ trips ~ '.trip_number + ' ~ kept_trips ~ ' as ' ~ dbt.type_string() ~ ')',
        ]) }} as trip_id,
        {{ trips }}.vehicle_id,
        cast({{ trips }}.trip_number + {{ kept_trips }} as {{ dbt.type_bigint() }}) as trip_number,
        {{ trips }}.started_at,
        {{ trips }}.ended_at,
        cast({{ trips }}.positions as {{ dbt.type_bigint() }}) as positions,
        cast({{ seconds_between(trips ~ '.started_at', trips ~ '.ended_at') }} as {{ dbt.type_bigint() }})
            as duration_seconds,
        {{ round_double(trips ~ '.distance_km', 3) }} as distance_km,
        {{ trips }}.max_speed_kmh,
        case
            when {{ seconds_between(trips ~ '.started_at', trips ~ '.ended_at') }} > 0
                then {{ round_double(
                    trips ~ '.distance_km * 3600.0 / '
                    ~ seconds_between(trips ~ '.started_at', trips ~ '.ended_at'), 1
                ) }}
        end as avg_speed_kmh,
        {{ trips }}.landed_at
{%- endmacro %}

{#-
    The GPS fixes landed after `since` are new positions of their vehicles: fct_trips
    reopens those vehicles' trips that end at or after the earliest new position less
    `trip_gap_seconds` (a position could continue, join or precede them) and splits
    them again; other vehicles' trips are untouched.
-#}

{#- The vehicles with a GPS fix landed after `since`, as a subquery. -#}
{% macro vehicles_with_fixes_since(since) -%}
    (select vehicle_id from {{ raw_table('gps_fixes') }} where landed_at > {{ timestamp_literal(since) }})
{%- endmacro %}

{#- Where trips are reopened: the earliest new position less the gap; none if none. -#}
{% macro trips_reopen_from(since) -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select min(event_at) as first_at from {{ raw_table('gps_fixes') }}
        where landed_at > {{ timestamp_literal(since) }}
    {%- endset -%}
    {%- set found = moments_of(query) -%}
    {%- if not found -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(found[0].replace(microsecond=0) - modules.datetime.timedelta(seconds=var('trip_gap_seconds'))) }}
{%- endmacro %}

{#- The earliest start of a reopened trip (or `reopen_from` if none): where reading starts. -#}
{% macro trips_scan_from(reopen_from, since) -%}
    {%- set query -%}
        select min(started_at) as first_at from {{ this }}
        where
            ended_at >= {{ timestamp_literal(reopen_from) }}
            and vehicle_id in {{ vehicles_with_fixes_since(since) }}
    {%- endset -%}
    {{ return((moments_of(query) + [reopen_from]) | min) }}
{%- endmacro %}

{#- fct_trips' pre-hook: delete the trips it is about to split again. -#}
{% macro reopen_recent_trips() -%}
    {%- set since = landed_since() -%}
    {%- set reopen_from = trips_reopen_from(since) -%}
    {%- if reopen_from is not none -%}
        delete from {{ this }}
        where
            ended_at >= {{ timestamp_literal(reopen_from) }}
            and vehicle_id in {{ vehicles_with_fixes_since(since) }}
    {%- endif -%}
{%- endmacro %}

{#-
    fct_trips' trips from `reopen_from` on, for the vehicles with fixes landed after
    `since`: split from the GPS fixes that follow each one's last kept trip, and
    numbered after it. Nothing when `reopen_from` is none (no new fix).
-#}
{% macro reopened_trips(reopen_from, since, fixes_relation) -%}
    {%- set scan_from = trips_scan_from(reopen_from, since) if reopen_from is not none else none -%}
    with

    kept as (
        select
            vehicle_id,
            max(ended_at) as kept_until,
            max(trip_number) as kept_trips
        from {{ this }}
        where
        {%- if reopen_from is none %}
            1 = 0
        {%- else %}
            ended_at < {{ timestamp_literal(reopen_from) }}
            and vehicle_id in {{ vehicles_with_fixes_since(since) }}
        {%- endif %}
        group by vehicle_id
    ),

    positions as (
        select
            fixes.event_id as position_id,
            fixes.vehicle_id,
            fixes.event_at,
            fixes.latitude,
            fixes.longitude,
            fixes.speed_kmh,
            fixes.landed_at
        from {{ fixes_relation }} as fixes
        left join kept
            on fixes.vehicle_id = kept.vehicle_id
        where
        {%- if scan_from is none %}
            1 = 0
        {%- else %}
            {{ hour_partitions_from(scan_from, 'fixes') }}
            and fixes.vehicle_id in {{ vehicles_with_fixes_since(since) }}
            and (kept.kept_until is null or fixes.event_at > kept.kept_until)
        {%- endif %}
    ),

    split as (
        {{ split_into_trips('positions') }}
    )

    {{ trip_columns('split', 'coalesce(kept.kept_trips, 0)') }}
    from split
    left join kept
        on split.vehicle_id = kept.vehicle_id
{%- endmacro %}
