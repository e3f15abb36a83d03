-- Reads whole marts: run once a day with the whole_history tests (selectors.yml).
{{ config(tags=['whole_history']) }}

-- A vehicle's trips follow one another: each starts more than trip_gap_seconds after the
-- previous one ended, and their numbers count up in time order.
with

trips as (
    select
        vehicle_id,
        trip_number,
        started_at,
        lag(ended_at) over (
            partition by vehicle_id order by started_at asc
        ) as previous_ended_at,
        lag(trip_number) over (
            partition by vehicle_id order by started_at asc
        ) as previous_trip_number
    from {{ ref('fct_trips') }}
),

gaps as (
    select
        vehicle_id,
        trip_number,
        previous_trip_number,
        started_at,
        previous_ended_at,
        {{ seconds_between('previous_ended_at', 'started_at') }} as gap_seconds
    from trips
    where previous_ended_at is not null
)

select *
from gaps
where
    gap_seconds <= {{ var('trip_gap_seconds') }}
    or trip_number != previous_trip_number + 1
