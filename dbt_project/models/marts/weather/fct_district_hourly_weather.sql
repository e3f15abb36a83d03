{{ config(
    materialized='incremental',
    unique_key='district_hour_id',
    partitioned_by=['day(event_hour_at)'],
    properties={'partitioning': "ARRAY['day(event_hour_at)']"},
    incremental_predicates=merge_within_partitions_of('event_hour_at'),
    sort=['event_hour_at'],
    meta={'window_column': 'event_hour_at'},
) }}

{#- Incremental by what landed, as fct_district_hourly_traffic. -#}
{%- set hours = changed_event_hours('weather_readings', landed_since()) %}

with

hourly as (
    select * from {{ ref('int_weather_readings_aggregated_to_hour') }}
    {{- where_in_hours(hours) }}
),

final as (
    select
        {{ dbt.concat([
            'district_id',
            "'@'",
            hour_key('event_hour_at'),
        ]) }} as district_hour_id,
        district_id,
        event_hour_at,
        cast(readings as {{ dbt.type_bigint() }}) as readings,
        {{ round_double('avg_temperature_c', 2) }} as avg_temperature_c,
        min_temperature_c,
        max_temperature_c,
        {{ round_double('precipitation_mm', 2) }} as precipitation_mm,
        max_wind_speed_kmh,
        {{ round_double('avg_humidity_pct', 1) }} as avg_humidity_pct,
        min_visibility_m,
        cast(max_air_quality_index as integer) as max_air_quality_index,
        landed_at
    from hourly
)

select * from final
