{{ config(
    materialized='view',
    persist_docs=view_persist_docs(),
    meta={'window_column': 'event_hour_at'},
) }}

{#-
    GPS fixes per vehicle and UTC hour, with the sum and count of their speeds: the grain
    at which the city's vehicles and mean speed add up exactly over any period, district
    or vehicle type (a count of distinct vehicles and a ratio of sums, where the daily
    and hourly marts hold figures that cannot be added again). The semantic layer's GPS
    metrics read it (dbt_project/models/semantic_models/).

    A view over the incremental vehicle-hour table the daily KPIs add up, so both count
    the same fixes, and it costs nothing until it is read.
-#}

with

vehicle_hours as (
    select * from {{ ref('int_gps_fixes_aggregated_to_vehicle_hour') }}
),

final as (
    select
        vehicle_hour_id,
        vehicle_id,
        event_hour_at,
        gps_fixes,
        speeds_reported,
        speed_kmh_total,
        landed_at
    from vehicle_hours
)

select * from final
