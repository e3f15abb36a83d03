with

fixes as (
    select * from {{ ref('int_gps_fixes_located') }}
    where district_id is not null
),

weather as (
    select * from {{ ref('int_weather_readings_located') }}
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

weather_per_hour as (
    select
        district_id,
        event_hour_at,
        avg(temperature_c) as avg_temperature_c,
        sum(precipitation_mm) as precipitation_mm,
        min(visibility_m) as min_visibility_m
    from weather
    group by district_id, event_hour_at
),

final as (
    select
        {{ dbt.concat([
            'traffic_per_hour.district_id',
            "'@'",
            'cast(traffic_per_hour.event_hour_at as ' ~ dbt.type_string() ~ ')',
        ]) }} as district_hour_id,
        traffic_per_hour.district_id,
        traffic_per_hour.event_hour_at,
        traffic_per_hour.vehicles_seen,
        traffic_per_hour.gps_fixes,
        traffic_per_hour.avg_speed_kmh,
        traffic_per_hour.stationary_fixes,
        weather_per_hour.avg_temperature_c,
        weather_per_hour.precipitation_mm,
        weather_per_hour.min_visibility_m
    from traffic_per_hour
    left join weather_per_hour
        on
            traffic_per_hour.district_id = weather_per_hour.district_id
            and traffic_per_hour.event_hour_at = weather_per_hour.event_hour_at
)

select * from final
