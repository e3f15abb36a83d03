{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not edit. -#}
with

source as (
    {{ deduplicate_events(source('smartcity', 'gps_fixes')) }}
),

renamed as (
    select
        event_id,
        schema_version,
        source_id as device_id,
        vehicle_id,
        latitude,
        longitude,
        altitude_m,
        accuracy_m,
        speed_over_ground_kmh as speed_kmh,
        speed_over_ground_kmh / 3.6 as speed_mps,
        -- contract version 2 on; null in earlier records
        heading_deg,

        {{ landing_metadata() }}
    from source
)

select * from renamed
