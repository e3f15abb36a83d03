{{ config(
    materialized='incremental',
    unique_key='vehicle_id',
) }}

{#-
    One row per vehicle: what its latest telemetry says it is, with its type.

    Incremental by a window of hours: a run reads only the telemetry from the start of
    the look-back window on, and replaces the row of every vehicle seen there. Its
    description comes from its latest reading, which is in the window (the window
    starts before the newest reading the mart holds); its first sighting is the earlier
    of the one held and the window's. A vehicle not seen in the window keeps its row,
    and with it the type it had: a changed `vehicle_types` seed reaches every vehicle
    with `--full-refresh`.
-#}
{%- set since = incremental_window_start('last_seen_at') %}

with

telemetry as (
    select * from {{ ref('stg_smartcity__vehicle_telemetry') }}
    {{- where_hours_from(since) }}
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
        min(event_at) over (partition by vehicle_id) as first_seen_in_window_at
    from telemetry
),

{% if is_incremental() %}
held as (
    select
        vehicle_id,
        first_seen_at
    from {{ this }}
),
{% endif %}

final as (
    select
        latest_first.vehicle_id,
        latest_first.vehicle_make,
        latest_first.vehicle_model,
        latest_first.vehicle_model_year,
        latest_first.fuel_type,
        vehicle_types.vehicle_class,
        vehicle_types.seats,
        {%- if is_incremental() %}
            least(
                coalesce(held.first_seen_at, latest_first.first_seen_in_window_at),
                latest_first.first_seen_in_window_at
            ) as first_seen_at,
        {%- else %}
            latest_first.first_seen_in_window_at as first_seen_at,
        {%- endif %}
        latest_first.event_at as last_seen_at
    from latest_first
    left join vehicle_types
        on
            latest_first.vehicle_make = vehicle_types.vehicle_make
            and latest_first.vehicle_model = vehicle_types.vehicle_model
    {%- if is_incremental() %}
        left join held on latest_first.vehicle_id = held.vehicle_id
    {%- endif %}
    where latest_first.recency_rank = 1
)

select * from final
