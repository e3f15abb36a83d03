with

source as (
    {{ deduplicate_events(source('smartcity', 'camera_sightings')) }}
),

renamed as (
    select
        -- ids
        event_id,
        camera_id,
        plate_hash,
        schema_version,

        -- position
        latitude,
        longitude,

        -- sighting
        direction,
        snapshot_ref,

        -- timestamps
        event_at,
        kafka_published_at,
        landed_at,

        -- lineage
        kafka_topic,
        kafka_partition,
        kafka_offset
    from source
)

select * from renamed
