{#- One row per vehicle: what its latest telemetry says it is, with its type. -#}
with

telemetry as (
    select * from {{ ref('stg_smartcity__vehicle_telemetry') }}
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
        min(event_at) over (partition by vehicle_id) as first_seen_at
    from telemetry
),

described as (
    select
        latest_first.vehicle_id,
        latest_first.vehicle_make,
        latest_first.vehicle_model,
        latest_first.vehicle_model_year,
        latest_first.fuel_type,
        vehicle_types.vehicle_class,
        vehicle_types.seats,
        latest_first.first_seen_at,
        latest_first.event_at as last_seen_at
    from latest_first
    left join vehicle_types
        on
            latest_first.vehicle_make = vehicle_types.vehicle_make
            and latest_first.vehicle_model = vehicle_types.vehicle_model
    where latest_first.recency_rank = 1
)

select * from described
