{{ config(
    meta={'window_column': 'event_date'},
) }}

with

weather_readings as (
    select * from {{ ref('stg_smartcity__weather_readings') }}
),

districts as (
    select * from {{ ref('districts') }}
),

located as (
    select
        weather_readings.event_id,
        weather_readings.station_id,
        districts.district_id,
        weather_readings.temperature_c,
        weather_readings.precipitation_mm,
        weather_readings.wind_speed_kmh,
        weather_readings.humidity_pct,
        weather_readings.visibility_m,
        weather_readings.air_quality_index,
        weather_readings.event_at,
        {{ dbt.date_trunc('hour', 'weather_readings.event_at') }} as event_hour_at,
        weather_readings.landed_at,
        -- the raw partition, for filters that prune
        weather_readings.event_date,
        weather_readings.event_hour
    from weather_readings
    left join districts
        on {{ within_district('weather_readings.latitude', 'weather_readings.longitude', 'districts') }}
)

select * from located
