{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partitioned_by=['event_date'],
    properties={'partitioning': "ARRAY['event_date']"},
    sort=['event_at'],
    meta={'window_column': 'event_date'},
) }}

{#-
    Append-only: each run reads the raw partitions of the hours with sightings landed
    since its last run (macros/landed_since.sql) and appends the sightings of those hours
    it does not hold yet.
-#}
{%- set hours = changed_event_hours('camera_sightings', landed_since()) %}

with

sightings as (
    select * from {{ ref('stg_smartcity__camera_sightings') }}
    {{- where_in_hours(hours) }}
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
        sightings.event_date,
        sightings.landed_at
    from sightings
    left join cameras
        on sightings.camera_id = cameras.camera_id
)

select final.*
from final
{%- if hours is not none %}
    where {{ not_held_yet('final', 'sighting_id', hours, 'event_date') }}
{%- endif %}
