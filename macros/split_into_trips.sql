{#-
    A vehicle's positions split into trips: a new trip starts at the vehicle's first
    position and after every gap longer than the `trip_gap_seconds` variable; distance
    is the sum of great-circle legs between consecutive positions of the same trip.

    `positions` names a relation or CTE with vehicle_id, position_id, event_at,
    latitude, longitude and speed_kmh. Trips are numbered from 1 per vehicle, in the
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
        max(speed_kmh) as max_speed_kmh
    from (
        select
            vehicle_id,
            event_at,
            speed_kmh,
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
        end as avg_speed_kmh
{%- endmacro %}

{#-
    Where fct_trips reopens trips on an incremental run: the start of its look-back
    window less `trip_gap_seconds`; none on a first or full-refresh run.
-#}
{% macro trips_reopen_from() -%}
    {%- set since = incremental_window_start('ended_at') -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(since - modules.datetime.timedelta(seconds=var('trip_gap_seconds'))) }}
{%- endmacro %}

{#- The earliest start of a reopened trip (or `reopen_from` if none): where reading starts. -#}
{% macro trips_scan_from(reopen_from) -%}
    {%- set query -%}
        select min(started_at) from {{ this }}
        where ended_at >= {{ timestamp_literal(reopen_from) }}
    {%- endset -%}
    {#- The last column of the first row: the only one here (the tests' stand-ins add a
        first column to every answer, as incremental_window_start reads them). -#}
    {%- set earliest = on_the_hour(run_query(query).rows[0][-1] if execute else none) -%}
    {{ return(reopen_from if earliest is none else [earliest, reopen_from] | min) }}
{%- endmacro %}

{#- fct_trips' pre-hook: delete the trips it is about to split again. -#}
{% macro reopen_recent_trips() -%}
    {%- set reopen_from = trips_reopen_from() -%}
    {%- if reopen_from is not none -%}
        delete from {{ this }} where ended_at >= {{ timestamp_literal(reopen_from) }}
    {%- endif -%}
{%- endmacro %}

{#-
    fct_trips' trips from `reopen_from` on: split from the GPS fixes that follow
    each vehicle's last kept trip, and numbered after it.
-#}
{% macro reopened_trips(reopen_from, fixes_relation) -%}
    {%- set scan_from = trips_scan_from(reopen_from) -%}
    with

    kept as (
        select
            vehicle_id,
            max(ended_at) as kept_until,
            max(trip_number) as kept_trips
        from {{ this }}
        where ended_at < {{ timestamp_literal(reopen_from) }}
        group by vehicle_id
    ),

    positions as (
        select
            fixes.event_id as position_id,
            fixes.vehicle_id,
            fixes.event_at,
            fixes.latitude,
            fixes.longitude,
            fixes.speed_kmh
        from {{ fixes_relation }} as fixes
        left join kept
            on fixes.vehicle_id = kept.vehicle_id
        where
            {{ hour_partitions_from(scan_from, 'fixes.event_date', 'fixes.event_hour') }}
            and (kept.kept_until is null or fixes.event_at > kept.kept_until)
    ),

    split as (
        {{ split_into_trips('positions') }}
    )

    {{ trip_columns('split', 'coalesce(kept.kept_trips, 0)') }}
    from split
    left join kept
        on split.vehicle_id = kept.vehicle_id
{%- endmacro %}
