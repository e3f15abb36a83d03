with

trips as (
    select * from {{ ref('int_trips_split') }}
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
