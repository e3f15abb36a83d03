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
        {{ dbt.date_trunc('hour', 'gps_fixes.event_at') }} as event_hour_at
    from gps_fixes
    -- Half-open boxes: a fix on a shared edge belongs to exactly one district.
    left join districts
        on
            gps_fixes.latitude >= districts.min_latitude
            and gps_fixes.latitude < districts.max_latitude
            and gps_fixes.longitude >= districts.min_longitude
            and gps_fixes.longitude < districts.max_longitude
)

select * from located
