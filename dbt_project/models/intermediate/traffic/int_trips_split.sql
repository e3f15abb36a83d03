{#-
    Every vehicle's whole history of positions split into trips (macros/split_into_trips.sql
    says how). The incremental fct_trips splits only what follows each vehicle's closed
    trips with the same macro, and a test holds the two to the same result.
-#}
with

positions as (
    select * from {{ ref('int_vehicle_positions_joined') }}
),

trips as (
    {{ split_into_trips('positions') }}
),

final as (
    {{ trip_columns('trips') }}
    from trips
)

select * from final
