{{ config(materialized='view', persist_docs=view_persist_docs()) }}

{#-
    Records the contracts accept that cannot be true: a trip faster than any vehicle
    (a vehicle in two places at once: two devices under one id, a replayed buffer with
    a wrong clock), an incident whose statuses come out of order. They stay in the marts,
    flagged here; the tests that guard against them warn and count instead of stopping
    the build (`data_guard` tests), while the tests of the project's own logic fail it.

    A view over two marts: always current, and it costs nothing until it is read.
-#}

with

trips as (
    select * from {{ ref('fct_trips') }}
),

incidents as (
    select * from {{ ref('fct_emergency_incidents') }}
),

trips_faster_than_possible as (
    select
        'trip_faster_than_possible' as check_name,
        'trip' as record_type,
        trip_id as record_id,
        started_at as observed_at,
        avg_speed_kmh as observed_value
    from trips
    where avg_speed_kmh > {{ var('plausible_speed_kmh') }}
),

incidents_out_of_order as (
    select
        'incident_lifecycle_out_of_order' as check_name,
        'incident' as record_type,
        incident_id as record_id,
        reported_at as observed_at,
        cast(null as {{ type_double() }}) as observed_value
    from incidents
    where
        dispatched_at < reported_at
        or on_scene_at < dispatched_at
        or resolved_at < on_scene_at
        or resolved_at < reported_at
        or (dispatched_at is null and on_scene_at is not null)
        or (on_scene_at is null and resolved_at is not null)
),

final as (
    select * from trips_faster_than_possible
    union all
    select * from incidents_out_of_order
)

select * from final
