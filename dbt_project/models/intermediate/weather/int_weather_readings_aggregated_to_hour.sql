{{ config(
    meta={'window_column': 'event_date'},
) }}

with

readings as (
    select * from {{ ref('int_weather_readings_located') }}
    where district_id is not null
),

hourly as (
    select
        district_id,
        event_hour_at,
        -- the hour's raw partition: grouped by too, so that a filter on it prunes
        event_date,
        event_hour,
        count(*) as readings,
        avg(temperature_c) as avg_temperature_c,
        min(temperature_c) as min_temperature_c,
        max(temperature_c) as max_temperature_c,
        sum(precipitation_mm) as precipitation_mm,
        max(wind_speed_kmh) as max_wind_speed_kmh,
        avg(humidity_pct) as avg_humidity_pct,
        min(visibility_m) as min_visibility_m,
        max(air_quality_index) as max_air_quality_index,
        max(landed_at) as landed_at
    from readings
    group by district_id, event_hour_at, event_date, event_hour
)

select * from hourly
