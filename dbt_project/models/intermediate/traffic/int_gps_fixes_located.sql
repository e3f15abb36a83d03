{{ config(
    meta={'window_column': 'event_date'},
) }}

with

gps_fixes as (
    select * from {{ ref('stg_smartcity__gps_fixes') }}
),

districts as (
    select * from {{ ref('districts') }}
),

located as (
    select
        gps_fixes.event_id,
        gps_fixes.vehicle_id,
        districts.district_id,
        gps_fixes.latitude,
        gps_fixes.longitude,
        gps_fixes.speed_kmh,
        gps_fixes.event_at,
        {{ dbt.date_trunc('hour', 'gps_fixes.event_at') }} as event_hour_at,
        gps_fixes.landed_at,
        -- the raw partition, for filters that prune
        gps_fixes.event_date,
        gps_fixes.event_hour
    from gps_fixes
    left join districts
        on {{ within_district('gps_fixes.latitude', 'gps_fixes.longitude', 'districts') }}
)

select * from located
