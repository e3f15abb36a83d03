with

cameras as (
    select * from {{ ref('camera_registry') }}
),

districts as (
    select * from {{ ref('districts') }}
),

final as (
    select
        cameras.camera_id,
        cameras.district_id,
        districts.district_name,
        cameras.latitude,
        cameras.longitude,
        cameras.installed_on
    from cameras
    left join districts
        on cameras.district_id = districts.district_id
)

select * from final
