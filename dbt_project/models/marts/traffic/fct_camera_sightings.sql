{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

with

sightings as (
    select * from {{ ref('stg_smartcity__camera_sightings') }}
),

cameras as (
    select * from {{ ref('camera_registry') }}
),

{% if is_incremental() -%}
    window_start as (
        select {{ incremental_window_start('landed_at') }} as since_at
        from {{ this }}
    ),

{% endif -%}

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

select final.*
from final
{% if is_incremental() -%}
    cross join window_start
    where
        (window_start.since_at is null or final.landed_at >= window_start.since_at)
        and {{ not_loaded_yet('final', 'sighting_id') }}
{%- endif %}
