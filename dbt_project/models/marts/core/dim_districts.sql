with

districts as (
    select * from {{ ref('districts') }}
),

final as (
    select
        district_id,
        district_name,
        min_latitude,
        max_latitude,
        min_longitude,
        max_longitude,
        free_flow_speed_kmh,
        (min_latitude + max_latitude) / 2 as centroid_latitude,
        (min_longitude + max_longitude) / 2 as centroid_longitude
    from districts
)

select * from final
