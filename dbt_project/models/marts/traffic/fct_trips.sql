{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ reopen_recent_trips() }}",
    partitioned_by=['started_on'],
    properties={'partitioning': "ARRAY['started_on']"},
    meta={'window_column': 'started_on'},
) }}

{#-
    Incremental: the trips that ended before the look-back window are closed and kept;
    the rest are deleted first (the pre-hook) and split again from the positions that
    follow each vehicle's last closed trip, numbered after it (macros/split_into_trips.sql).
    A trip that ended up to `trip_gap_seconds` before the window is reopened too, since a
    position in the window could still continue it. Only the partitions from the earliest
    reopened trip's start on are read, from staging: a trip needs no district.
-#}
-- depends_on: {{ ref('stg_smartcity__gps_fixes') }}
{%- set reopen_from = trips_reopen_from() %}

with

trips as (
    {%- if reopen_from is none %}
        select * from {{ ref('int_trips_split') }}
    {%- else %}
        {{ reopened_trips(reopen_from, ref('stg_smartcity__gps_fixes')) }}
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
        avg_speed_kmh
    from trips
)

select * from final
