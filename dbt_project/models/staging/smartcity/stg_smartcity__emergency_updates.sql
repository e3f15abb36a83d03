with

source as (
    {{ deduplicate_events(source('smartcity', 'emergency_updates')) }}
),

renamed as (
    select
        -- ids
        event_id,
        incident_id,
        schema_version,

        -- incident
        incident_type,
        severity,
        status as incident_status,
        units as assigned_units,

        -- position
        latitude,
        longitude,

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
