{{ config(
    materialized='incremental',
    unique_key='district_hour_id',
    partitioned_by=['day(event_hour_at)'],
    properties={'partitioning': "ARRAY['day(event_hour_at)']"},
    incremental_predicates=merge_within_partitions_of('event_hour_at'),
    dist='district_id',
    sort=['event_hour_at'],
    meta={'window_column': 'event_hour_at'},
) }}

{#-
    Incremental by a window of hours: each run recomputes every hour from the start of
    the look-back window on, from all of those hours' raw partitions, and replaces
    those rows (merge on Iceberg, delete+insert elsewhere); hours before it are closed.
-#}
{%- set since = incremental_window_start('event_hour_at') %}

with

fixes as (
    select * from {{ ref('int_gps_fixes_located') }}
    where district_id is not null
    {%- if since is not none %}
        and {{ hour_partitions_from(since) }}
    {%- endif %}
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
        sum(case when speed_kmh = 0 then 1 else 0 end) as stationary_fixes
    from fixes
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
        ) }} as congestion_index
    from traffic_per_hour
    inner join districts
        on traffic_per_hour.district_id = districts.district_id
)

select * from final
