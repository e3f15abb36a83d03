{{ config(
    materialized='incremental',
    unique_key='vehicle_id',
) }}

{#-
    One row per vehicle: what its latest telemetry says it is, with its type.

    Incremental by what landed (macros/landed_since.sql): a run reads the hours of the
    telemetry landed since its last run and replaces the row of every vehicle seen there.
    Its description comes from the newer of its latest reading in those hours and the
    row the mart holds (a late reading is older than what is known); its first sighting
    is the earlier of the two. A vehicle not seen keeps its row, and with it the type it
    had: a changed `vehicle_types` seed reaches every vehicle with `--full-refresh`.
-#}
{%- set hours = changed_event_hours('vehicle_telemetry', landed_since()) %}

with

telemetry as (
    select * from {{ ref('stg_smartcity__vehicle_telemetry') }}
    {{- where_in_hours(hours) }}
),

vehicle_types as (
    select * from {{ ref('vehicle_types') }}
),

latest_first as (
    select
        *,
        row_number() over (
            partition by vehicle_id order by event_at desc, event_id desc
        ) as recency_rank,
        min(event_at) over (partition by vehicle_id) as first_seen_now_at,
        max(landed_at) over (partition by vehicle_id) as newest_landed_at
    from telemetry
),

read_now as (
    select
        vehicle_id,
        vehicle_make,
        vehicle_model,
        vehicle_model_year,
        fuel_type,
        first_seen_now_at as first_seen_at,
        event_at as last_seen_at,
        newest_landed_at as landed_at,
        1 as is_read_now
    from latest_first
    where recency_rank = 1
),

candidates as (
    select * from read_now
    {%- if hours is not none %}
        union all
        select
            held.vehicle_id,
            held.vehicle_make,
            held.vehicle_model,
            held.vehicle_model_year,
            held.fuel_type,
            held.first_seen_at,
            held.last_seen_at,
            held.landed_at,
            0 as is_read_now
        from {{ this }} as held
        where held.vehicle_id in (select read_now.vehicle_id from read_now)
    {%- endif %}
),

newest_first as (
    select
        *,
        row_number() over (
            partition by vehicle_id order by last_seen_at desc, is_read_now desc
        ) as candidate_rank,
        min(first_seen_at) over (partition by vehicle_id) as earliest_seen_at,
        max(landed_at) over (partition by vehicle_id) as newest_landed_at
    from candidates
),

final as (
    select
        newest_first.vehicle_id,
        newest_first.vehicle_make,
        newest_first.vehicle_model,
        newest_first.vehicle_model_year,
        newest_first.fuel_type,
        vehicle_types.vehicle_class,
        vehicle_types.seats,
        newest_first.earliest_seen_at as first_seen_at,
        newest_first.last_seen_at,
        newest_first.newest_landed_at as landed_at
    from newest_first
    left join vehicle_types
        on
            newest_first.vehicle_make = vehicle_types.vehicle_make
            and newest_first.vehicle_model = vehicle_types.vehicle_model
    where newest_first.candidate_rank = 1
)

select * from final
