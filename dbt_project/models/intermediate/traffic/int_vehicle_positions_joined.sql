{#-
    Every GPS fix with the vehicle's telemetry as it stood at that moment: the latest
    telemetry reading at or before the fix. A running count of telemetry readings
    along the vehicle's timeline numbers the reading each fix falls after, which is
    an as-of join that every engine can run.
-#}
with

fixes as (
    select * from {{ ref('int_gps_fixes_located') }}
),

telemetry as (
    select * from {{ ref('stg_smartcity__vehicle_telemetry') }}
),

telemetry_numbered as (
    select
        *,
        row_number() over (
            partition by vehicle_id order by event_at, event_id
        ) as telemetry_number
    from telemetry
),

timeline as (
    select
        vehicle_id,
        event_id,
        event_at,
        1 as is_telemetry
    from telemetry
    union all
    select
        vehicle_id,
        event_id,
        event_at,
        0 as is_telemetry
    from fixes
),

fixes_numbered as (
    select
        event_id,
        sum(is_telemetry) over (
            partition by vehicle_id
            order by event_at asc, is_telemetry desc, event_id asc
            rows between unbounded preceding and current row
        ) as telemetry_number
    from timeline
),

joined as (
    select
        -- ids
        fixes.event_id as position_id,
        fixes.vehicle_id,
        fixes.district_id,
        telemetry_numbered.event_id as telemetry_event_id,

        -- position
        fixes.latitude,
        fixes.longitude,
        fixes.speed_kmh,

        -- vehicle state
        telemetry_numbered.engine_status,
        telemetry_numbered.fuel_level_pct,
        telemetry_numbered.odometer_km,

        -- timestamps
        fixes.event_at,
        fixes.event_hour_at,
        telemetry_numbered.event_at as telemetry_at,
        fixes.landed_at
    from fixes
    inner join fixes_numbered
        on
            fixes.event_id = fixes_numbered.event_id
    left join telemetry_numbered
        on
            fixes.vehicle_id = telemetry_numbered.vehicle_id
            and fixes_numbered.telemetry_number = telemetry_numbered.telemetry_number
)

select * from joined
