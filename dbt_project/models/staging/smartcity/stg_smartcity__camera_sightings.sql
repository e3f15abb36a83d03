{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not edit. -#}
with

source as (
    {{ deduplicate_events(source('smartcity', 'camera_sightings')) }}
),

renamed as (
    select
        event_id,
        schema_version,
        source_id as device_id,
        camera_id,
        latitude,
        longitude,
        plate_hash,
        snapshot_ref,
        direction,

        {{ landing_metadata() }}
    from source
)

select * from renamed
