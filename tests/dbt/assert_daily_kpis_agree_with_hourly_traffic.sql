-- Reads whole marts: run once a day with the whole_history tests (selectors.yml).
{{ config(tags=['whole_history']) }}

-- The daily KPI mart and the hourly traffic mart count the same fixes: a day's fixes
-- are that day's hourly rows (fixes in a district) plus the fixes outside every district.
with

hourly as (
    select
        cast(event_hour_at as date) as kpi_date,
        sum(gps_fixes) as gps_fixes
    from {{ ref('fct_district_hourly_traffic') }}
    group by cast(event_hour_at as date)
),

outside_districts as (
    select
        cast(event_at as date) as kpi_date,
        count(*) as gps_fixes
    from {{ ref('int_gps_fixes_located') }}
    where district_id is null
    group by cast(event_at as date)
),

daily as (
    select
        kpi_date,
        gps_fixes
    from {{ ref('fct_city_daily_kpis') }}
    where gps_fixes > 0
),

expected as (
    select
        coalesce(hourly.kpi_date, outside_districts.kpi_date) as kpi_date,
        coalesce(hourly.gps_fixes, 0) + coalesce(outside_districts.gps_fixes, 0) as gps_fixes
    from hourly
    full outer join outside_districts
        on hourly.kpi_date = outside_districts.kpi_date
)

select
    daily.gps_fixes as daily_fixes,
    expected.gps_fixes as hourly_fixes,
    coalesce(daily.kpi_date, expected.kpi_date) as kpi_date
from daily
full outer join expected
    on daily.kpi_date = expected.kpi_date
where
    daily.gps_fixes is null
    or expected.gps_fixes is null
    or daily.gps_fixes != expected.gps_fixes
