with

source as (
    {{ deduplicate_events(source('smartcity', 'gps_fixes')) }}
),

renamed as (
    select
        -- ids
        event_id,
        vehicle_id,
        source_id as device_id,
        schema_version,

        -- position
        latitude,
        longitude,
        altitude_m,
        accuracy_m,

        -- measures
        speed_over_ground_kmh as speed_kmh,
        speed_over_ground_kmh / 3.6 as speed_mps,
        -- contract version 2 on; null in version 1 records
        heading_deg,

        {{ landing_metadata() }}
    from source
)

select * from renamed
