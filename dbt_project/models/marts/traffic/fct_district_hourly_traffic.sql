{{ config(
    materialized='incremental',
    unique_key='district_hour_id',
    partitioned_by=['day(event_hour_at)'],
    properties={'partitioning': "ARRAY['day(event_hour_at)']"},
    incremental_predicates=merge_within_partitions_of('event_hour_at'),
    sort=['event_hour_at'],
    meta={'window_column': 'event_hour_at'},
) }}

{#-
    Incremental by what landed (macros/landed_since.sql): each run recomputes the hours
    of the GPS fixes landed since its last run, from all of those hours' raw partitions,
    and replaces those rows (merge on Iceberg, delete+insert elsewhere).
-#}
{%- set hours = changed_event_hours('gps_fixes', landed_since()) %}

with

fixes as (
    select * from {{ ref('int_gps_fixes_located') }}
    {{- where_in_hours(hours) }}
),

districts as (
    select * from {{ ref('districts') }}
),

traffic_per_hour as (
    select
        district_id,
        event_hour_at,
        count(distinct vehicle_id) as vehicles_seen,
        count(*) as gps_fixes,
        avg(speed_kmh) as avg_speed_kmh,
        sum(case when speed_kmh = 0 then 1 else 0 end) as stationary_fixes,
        max(landed_at) as landed_at
    from fixes
    where district_id is not null
    group by district_id, event_hour_at
),

final as (
    select
        {{ dbt.concat([
            'traffic_per_hour.district_id',
            "'@'",
            hour_key('traffic_per_hour.event_hour_at'),
        ]) }} as district_hour_id,
        traffic_per_hour.district_id,
        traffic_per_hour.event_hour_at,
        cast(traffic_per_hour.vehicles_seen as {{ dbt.type_bigint() }}) as vehicles_seen,
        cast(traffic_per_hour.gps_fixes as {{ dbt.type_bigint() }}) as gps_fixes,
        {{ round_double('traffic_per_hour.avg_speed_kmh', 2) }} as avg_speed_kmh,
        cast(traffic_per_hour.stationary_fixes as {{ dbt.type_bigint() }}) as stationary_fixes,
        cast(districts.free_flow_speed_kmh as {{ type_double() }}) as free_flow_speed_kmh,
        {{ congestion_index(
            'traffic_per_hour.avg_speed_kmh', 'districts.free_flow_speed_kmh'
        ) }} as congestion_index,
        traffic_per_hour.landed_at
    from traffic_per_hour
    inner join districts
        on traffic_per_hour.district_id = districts.district_id
)

select * from final
