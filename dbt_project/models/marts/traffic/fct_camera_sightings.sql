{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

with

sightings as (
    select * from {{ ref('stg_smartcity__camera_sightings') }}
    {% if is_incremental() -%}
        where {{ landed_after_watermark('landed_at') }}
    {%- endif %}
),

cameras as (
    select * from {{ ref('camera_registry') }}
),

final as (
    select
        sightings.event_id as sighting_id,
        sightings.camera_id,
        cameras.district_id,
        sightings.plate_hash,
        sightings.direction,
        sightings.snapshot_ref,
        sightings.event_at,
        cast(sightings.event_at as date) as event_date,
        sightings.landed_at
    from sightings
    left join cameras
        on sightings.camera_id = cameras.camera_id
)

select * from final
