{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ reopen_recent_trips() }}",
    partitioned_by=['started_on'],
    properties={'partitioning': "ARRAY['started_on']"},
    sort=['started_at'],
    meta={'window_column': 'started_on'},
) }}

{#-
    Incremental by what landed (macros/landed_since.sql): the vehicles with GPS fixes
    landed since the last run have their trips from the earliest new fix on (less
    `trip_gap_seconds`, as a new position can continue a trip that ended just before)
    deleted first (the pre-hook) and split again from the positions that follow their
    last kept trip, numbered after it (macros/split_into_trips.sql). Other vehicles'
    trips are kept. Only the partitions from the earliest reopened trip's start on are
    read, from staging: a trip needs no district.
-#}
-- depends_on: {{ ref('stg_smartcity__gps_fixes') }}
{%- set since = landed_since() %}
{%- set reopen_from = trips_reopen_from(since) %}

with

trips as (
    {%- if since is none %}
        select * from {{ ref('int_trips_split') }}
    {%- else %}
        {{ reopened_trips(reopen_from, since, ref('stg_smartcity__gps_fixes')) }}
    {%- endif %}
),

final as (
    select
        trip_id,
        vehicle_id,
        trip_number,
        started_at,
        ended_at,
        cast(started_at as date) as started_on,
        positions,
        duration_seconds,
        distance_km,
        max_speed_kmh,
        avg_speed_kmh,
        landed_at
    from trips
)

select * from final
