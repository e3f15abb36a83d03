with

vehicles as (
    select * from {{ ref('int_vehicles_described') }}
),

final as (
    select
        vehicle_id,
        vehicle_make,
        vehicle_model,
        vehicle_model_year,
        fuel_type,
        vehicle_class,
        seats,
        first_seen_at,
        last_seen_at
    from vehicles
)

select * from final
