with

source as (
    {{ deduplicate_events(source('smartcity', 'emergency_updates')) }}
),

renamed as (
    select
        -- ids
        event_id,
        incident_id,
        source_id as device_id,
        schema_version,

        -- incident
        incident_type,
        severity,
        status as incident_status,
        {{ array_size('units') }} as assigned_units_count,
        {{ array_to_text('units', nested_text_separator()) }} as assigned_units,

        -- position
        latitude,
        longitude,

        {{ landing_metadata() }}
    from source
)

select * from renamed
