{{ config(
    materialized='incremental',
    unique_key='vehicle_hour_id',
    partitioned_by=['day(event_hour_at)'],
    properties={'partitioning': "ARRAY['day(event_hour_at)']"},
    incremental_predicates=merge_within_partitions_of('event_hour_at'),
    meta={'window_column': 'event_hour_at'},
) }}

{#-
    One row per vehicle and hour it reported in: the small table that the daily KPIs
    count active vehicles and average speeds from, so that a day still open costs them
    its hours here rather than its GPS fixes.

    Incremental by what landed (macros/landed_since.sql): each run recomputes the hours
    of the GPS fixes landed since its last run, from those hours' raw partitions, and
    replaces those rows.
-#}
{%- set hours = changed_event_hours('gps_fixes', landed_since()) %}

with

fixes as (
    select * from {{ ref('stg_smartcity__gps_fixes') }}
    {{- where_in_hours(hours) }}
),

vehicle_hours as (
    select
        vehicle_id,
        {{ dbt.date_trunc('hour', 'event_at') }} as event_hour_at,
        count(*) as gps_fixes,
        -- a sum and a count, not an average: days add their hours up exactly
        count(speed_kmh) as speeds_reported,
        sum(speed_kmh) as speed_kmh_total,
        max(landed_at) as landed_at
    from fixes
    group by vehicle_id, {{ dbt.date_trunc('hour', 'event_at') }}
),

final as (
    select
        {{ dbt.concat(['vehicle_id', "'@'", hour_key('event_hour_at')]) }} as vehicle_hour_id,
        vehicle_id,
        event_hour_at,
        cast(gps_fixes as {{ dbt.type_bigint() }}) as gps_fixes,
        cast(speeds_reported as {{ dbt.type_bigint() }}) as speeds_reported,
        cast(speed_kmh_total as {{ type_double() }}) as speed_kmh_total,
        landed_at
    from vehicle_hours
)

select * from final
