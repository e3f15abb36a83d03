{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not edit. -#}
with

source as (
    {{ deduplicate_events(source('smartcity', 'emergency_updates')) }}
),

renamed as (
    select
        event_id,
        schema_version,
        source_id as device_id,
        incident_id,
        incident_type,
        severity,
        status as incident_status,
        latitude,
        longitude,
        {{ array_size('units') }} as assigned_units_count,
        {{ array_to_text('units', nested_text_separator()) }} as assigned_units,

        {{ landing_metadata() }}
    from source
)

select * from renamed
