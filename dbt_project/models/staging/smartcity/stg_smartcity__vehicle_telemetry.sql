{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not edit. -#}
with

source as (
    {{ deduplicate_events(source('smartcity', 'vehicle_telemetry')) }}
),

renamed as (
    select
        event_id,
        schema_version,
        source_id as device_id,
        vehicle_id,
        speed_kmh,
        heading_deg,
        fuel_level_pct,
        odometer_km,
        engine_status,
        make as vehicle_make,
        model as vehicle_model,
        model_year as vehicle_model_year,
        fuel_type,

        {{ landing_metadata() }}
    from source
)

select * from renamed
