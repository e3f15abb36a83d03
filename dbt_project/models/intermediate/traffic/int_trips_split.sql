{#-
    A vehicle's positions split into trips: a new trip starts at the vehicle's first
    fix and after every gap longer than the `trip_gap_seconds` variable. Distance is
    the sum of great-circle legs between consecutive fixes of the same trip.
-#}
with

positions as (
    select * from {{ ref('int_vehicle_positions_joined') }}
),

ordered as (
    select
        *,
        lag(event_at) over (
            partition by vehicle_id order by event_at, position_id
        ) as previous_event_at,
        lag(latitude) over (
            partition by vehicle_id order by event_at, position_id
        ) as previous_latitude,
        lag(longitude) over (
            partition by vehicle_id order by event_at, position_id
        ) as previous_longitude
    from positions
),

flagged as (
    select
        *,
        case
            when previous_event_at is null then 1
            when
                {{ seconds_between('previous_event_at', 'event_at') }}
                > {{ var('trip_gap_seconds') }}
                then 1
            else 0
        end as starts_trip
    from ordered
),

numbered as (
    select
        *,
        sum(starts_trip) over (
            partition by vehicle_id
            order by event_at, position_id
            rows between unbounded preceding and current row
        ) as trip_number,
        case
            when starts_trip = 1 then 0.0
            else {{ haversine_km('previous_latitude', 'previous_longitude', 'latitude', 'longitude') }}
        end as leg_km
    from flagged
),

trips as (
    select
        vehicle_id,
        trip_number,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as positions,
        sum(leg_km) as distance_km,
        max(speed_kmh) as max_speed_kmh
    from numbered
    group by vehicle_id, trip_number
),

final as (
    select
        {{ dbt.concat([
            'vehicle_id',
            "'#'",
            'cast(trip_number as ' ~ dbt.type_string() ~ ')',
        ]) }} as trip_id,
        vehicle_id,
        cast(trip_number as {{ dbt.type_bigint() }}) as trip_number,
        started_at,
        ended_at,
        cast(positions as {{ dbt.type_bigint() }}) as positions,
        cast({{ seconds_between('started_at', 'ended_at') }} as {{ dbt.type_bigint() }})
            as duration_seconds,
        {{ round_double('distance_km', 3) }} as distance_km,
        max_speed_kmh,
        case
            when {{ seconds_between('started_at', 'ended_at') }} > 0
                then {{ round_double(
                    'distance_km * 3600.0 / ' ~ seconds_between('started_at', 'ended_at'), 1
                ) }}
        end as avg_speed_kmh
    from trips
)

select * from final
