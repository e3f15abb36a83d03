with

source as (
    {{ deduplicate_events(source('smartcity', 'camera_sightings')) }}
),

renamed as (
    select
        -- ids
        event_id,
        camera_id,
        source_id as device_id,
        plate_hash,
        schema_version,

        -- position
        latitude,
        longitude,

        -- sighting
        direction,
        snapshot_ref,

        {{ landing_metadata() }}
    from source
)

select * from renamed
