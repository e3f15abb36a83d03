-- The daily KPI mart and the hourly traffic mart count the same located fixes: a day's
-- fixes in districts are the sum of that day's hourly rows.
with

hourly as (
    select
        cast(event_hour_at as date) as kpi_date,
        sum(gps_fixes) as gps_fixes
    from {{ ref('fct_district_hourly_traffic') }}
    group by cast(event_hour_at as date)
),

located_daily as (
    select
        cast(event_at as date) as kpi_date,
        count(*) as gps_fixes
    from {{ ref('int_gps_fixes_located') }}
    where district_id is not null
    group by cast(event_at as date)
)

select
    located_daily.kpi_date,
    located_daily.gps_fixes as located_fixes,
    hourly.gps_fixes as hourly_fixes
from located_daily
left join hourly on located_daily.kpi_date = hourly.kpi_date
where hourly.gps_fixes is null or hourly.gps_fixes != located_daily.gps_fixes
