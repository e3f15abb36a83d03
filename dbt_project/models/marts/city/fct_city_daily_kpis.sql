{{ config(
    materialized='incremental',
    unique_key='kpi_date',
    partitioned_by=['month(kpi_date)'],
    properties={'partitioning': "ARRAY['month(kpi_date)']"},
    incremental_predicates=merge_within_partitions_of('kpi_date'),
    sort=['kpi_date'],
    meta={'window_column': 'kpi_date'},
) }}

{#-
    One row per UTC day with the city's headline figures side by side, so that a
    dashboard tile reads one table with no joins. A day appears when any source has
    an event on it; a figure with nothing to measure that day is null (or 0 for counts).

    Incremental by what landed (macros/landed_since.sql): each run recomputes the days
    its inputs changed since its last run, reading only those days' partitions. GPS
    fixes, by far the most events, are read as vehicle-hours, which keeps that cheap.
    Events count on the day they happened, dead letters on the day they were refused.
-#}
{%- set since = landed_since() %}
{%- set days = kpi_days_changed_since(since) if since is not none else none %}

with

vehicle_hours as (
    select * from {{ ref('int_gps_fixes_aggregated_to_vehicle_hour') }}
    {%- if days is not none %}
        where {{ in_days(days, 'cast(event_hour_at as date)') }}
    {%- endif %}
),

trips as (
    select * from {{ ref('fct_trips') }}
    {%- if days is not none %}
        where {{ in_days(days, 'started_on') }}
    {%- endif %}
),

sightings as (
    select * from {{ ref('stg_smartcity__camera_sightings') }}
    {%- if days is not none %}
        where {{ in_days(days, 'event_date') }}
    {%- endif %}
),

incidents as (
    select * from {{ ref('fct_emergency_incidents') }}
    {%- if days is not none %}
        where {{ in_days(days, 'reported_on') }}
    {%- endif %}
),

weather as (
    select * from {{ ref('int_weather_readings_located') }}
    {%- if days is not none %}
        where {{ in_days(days, 'event_date') }}
    {%- endif %}
),

dead_letters as (
    select * from {{ ref('stg_smartcity__dead_letters') }}
    {%- if days is not none %}
        where {{ in_days(days, 'dead_letter_date') }}
    {%- endif %}
),

traffic_per_day as (
    select
        cast(event_hour_at as date) as kpi_date,
        count(distinct vehicle_id) as vehicles_active,
        sum(gps_fixes) as gps_fixes,
        sum(speed_kmh_total) / nullif(sum(speeds_reported), 0) as avg_speed_kmh
    from vehicle_hours
    group by cast(event_hour_at as date)
),

trips_per_day as (
    select
        started_on as kpi_date,
        count(*) as trips_started,
        sum(distance_km) as trip_distance_km
    from trips
    group by started_on
),

sightings_per_day as (
    select
        cast(event_at as date) as kpi_date,
        count(*) as camera_sightings
    from sightings
    group by cast(event_at as date)
),

incidents_per_day as (
    select
        reported_on as kpi_date,
        count(*) as incidents_reported,
        sum(case when resolved_at is not null then 1 else 0 end) as incidents_resolved,
        avg(cast(response_seconds as {{ type_double() }})) as avg_response_seconds,
        sum(case when met_response_target then 1 else 0 end) as responses_within_target,
        count(response_seconds) as responses
    from incidents
    -- an incident whose report was refused into the dead letters has no report day
    where reported_on is not null
    group by reported_on
),

temperature_per_day as (
    select
        cast(event_at as date) as kpi_date,
        avg(temperature_c) as avg_temperature_c
    from weather
    group by cast(event_at as date)
),

station_days as (
    select
        station_id,
        cast(event_at as date) as kpi_date,
        sum(precipitation_mm) as precipitation_mm
    from weather
    group by station_id, cast(event_at as date)
),

-- rain that fell on the city: the mean of the stations' daily totals
precipitation_per_day as (
    select
        kpi_date,
        avg(precipitation_mm) as precipitation_mm
    from station_days
    group by kpi_date
),

dead_letters_per_day as (
    select
        cast(dead_lettered_at as date) as kpi_date,
        count(*) as dead_letters
    from dead_letters
    group by cast(dead_lettered_at as date)
),

-- the newest landing time of what each day was computed from (dead letters land when refused)
landings as (
    select
        cast(event_hour_at as date) as kpi_date,
        landed_at
    from vehicle_hours
    union all
    select
        started_on as kpi_date,
        landed_at
    from trips
    union all
    select
        cast(event_at as date) as kpi_date,
        landed_at
    from sightings
    union all
    select
        reported_on as kpi_date,
        landed_at
    from incidents
    union all
    select
        cast(event_at as date) as kpi_date,
        landed_at
    from weather
    union all
    select
        cast(dead_lettered_at as date) as kpi_date,
        dead_lettered_at as landed_at
    from dead_letters
),

landed_per_day as (
    select
        kpi_date,
        max(landed_at) as landed_at
    from landings
    group by kpi_date
),

days as (
    select kpi_date from traffic_per_day
    union
    select kpi_date from trips_per_day
    union
    select kpi_date from sightings_per_day
    union
    select kpi_date from incidents_per_day
    union
    select kpi_date from temperature_per_day
    union
    select kpi_date from dead_letters_per_day
),

final as (
    select
        days.kpi_date,

        -- traffic
        cast(coalesce(traffic_per_day.vehicles_active, 0) as {{ dbt.type_bigint() }})
            as vehicles_active,
        cast(coalesce(traffic_per_day.gps_fixes, 0) as {{ dbt.type_bigint() }}) as gps_fixes,
        {{ round_double('traffic_per_day.avg_speed_kmh', 2) }} as avg_speed_kmh,
        cast(coalesce(trips_per_day.trips_started, 0) as {{ dbt.type_bigint() }})
            as trips_started,
        {{ round_double('trips_per_day.trip_distance_km', 3) }} as trip_distance_km,
        cast(coalesce(sightings_per_day.camera_sightings, 0) as {{ dbt.type_bigint() }})
            as camera_sightings,

        -- emergency
        cast(coalesce(incidents_per_day.incidents_reported, 0) as {{ dbt.type_bigint() }})
            as incidents_reported,
        cast(coalesce(incidents_per_day.incidents_resolved, 0) as {{ dbt.type_bigint() }})
            as incidents_resolved,
        {{ round_double('incidents_per_day.avg_response_seconds', 1) }} as avg_response_seconds,
        case
            when incidents_per_day.responses > 0
                then {{ round_double(
                    '100.0 * incidents_per_day.responses_within_target'
                    ~ ' / incidents_per_day.responses', 1
                ) }}
        end as response_within_target_pct,

        -- weather
        {{ round_double('temperature_per_day.avg_temperature_c', 2) }} as avg_temperature_c,
        {{ round_double('precipitation_per_day.precipitation_mm', 2) }} as precipitation_mm,

        -- data quality
        cast(coalesce(dead_letters_per_day.dead_letters, 0) as {{ dbt.type_bigint() }})
            as dead_letters,

        -- lineage
        landed_per_day.landed_at
    from days
    left join traffic_per_day on days.kpi_date = traffic_per_day.kpi_date
    left join trips_per_day on days.kpi_date = trips_per_day.kpi_date
    left join sightings_per_day on days.kpi_date = sightings_per_day.kpi_date
    left join incidents_per_day on days.kpi_date = incidents_per_day.kpi_date
    left join temperature_per_day on days.kpi_date = temperature_per_day.kpi_date
    left join precipitation_per_day on days.kpi_date = precipitation_per_day.kpi_date
    left join dead_letters_per_day on days.kpi_date = dead_letters_per_day.kpi_date
    left join landed_per_day on days.kpi_date = landed_per_day.kpi_date
)

select * from final
