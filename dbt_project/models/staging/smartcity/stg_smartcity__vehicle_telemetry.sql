with

source as (
    {{ deduplicate_events(source('smartcity', 'vehicle_telemetry')) }}
),

renamed as (
    select
        -- ids
        event_id,
        vehicle_id,
        source_id as device_id,
        schema_version,

        -- measures
        speed_kmh,
        heading_deg,
        fuel_level_pct,
        odometer_km,
        engine_status,

        -- vehicle
        make as vehicle_make,
        model as vehicle_model,
        model_year as vehicle_model_year,
        fuel_type,

        {{ landing_metadata() }}
    from source
)

select * from renamed
