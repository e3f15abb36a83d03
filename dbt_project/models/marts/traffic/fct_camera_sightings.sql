{{ config(
    materialized='incremental',
    incremental_strategy='append',
    partitioned_by=['event_date'],
    properties={'partitioning': "ARRAY['event_date']"},
    dist='camera_id',
    sort=['event_at'],
    meta={'window_column': 'event_date'},
) }}

{#-
    Append-only: each run reads again the raw partitions of the look-back window and
    appends the sightings it does not hold yet.
-#}
{%- set since = incremental_window_start('event_at') %}

with

sightings as (
    select * from {{ ref('stg_smartcity__camera_sightings') }}
    {{- where_hours_from(since) }}
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
{%- if since is not none %}
    where {{ not_loaded_yet('final', 'sighting_id', 'event_at', since) }}
{%- endif %}
