-- Splitting into trips loses no position and counts none twice.
with

trip_positions as (
    select sum(positions) as positions from {{ ref('fct_trips') }}
),

positions as (
    select count(*) as positions from {{ ref('int_vehicle_positions_joined') }}
)

select
    trip_positions.positions as in_trips,
    positions.positions as in_positions
from trip_positions
cross join positions
where coalesce(trip_positions.positions, 0) != positions.positions
