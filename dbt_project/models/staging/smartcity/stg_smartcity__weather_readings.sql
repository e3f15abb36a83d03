{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not edit. -#}
with

source as (
    {{ deduplicate_events(source('smartcity', 'weather_readings')) }}
),

renamed as (
    select
        event_id,
        schema_version,
        source_id as device_id,
        station_id,
        latitude,
        longitude,
        temperature_c,
        precipitation_mm,
        wind_speed_kmh,
        wind_direction_deg,
        humidity_pct,
        visibility_m,
        visibility_m / 1000.0 as visibility_km,
        air_quality_index,

        {{ landing_metadata() }}
    from source
)

select * from renamed
