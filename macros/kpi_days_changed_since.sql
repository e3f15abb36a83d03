{#-
    The days fct_city_daily_kpis recomputes: those on which what it counts changed since
    `since` (a landing time). Events count on the day they happened: the days of the new
    sightings and weather readings, and of the vehicle-hours recomputed. A trip or an
    incident counts on the day it started or was reported, which a new position or update
    can move: a trip can absorb another, an incident gain an earlier report. So every day
    from the first to the last moment of a recomputed trip or incident is recomputed,
    which holds whatever day they counted on before.
-#}
{% macro kpi_days_changed_since(since) -%}
    {%- set days = [] -%}
    {%- set query -%}
        select min(event_hour_at) as changed_at
        from {{ ref('int_gps_fixes_aggregated_to_vehicle_hour') }}
        where landed_at > {{ timestamp_literal(since) }}
        group by cast(event_hour_at as date)
    {%- endset -%}
    {%- do days.extend(moments_of(query)) -%}
    {%- do days.extend(changed_event_days('camera_sightings', since)) -%}
    {%- do days.extend(changed_event_days('weather_readings', since)) -%}
    {%- do days.extend(changed_dead_letter_days(since)) -%}
    {%- set trips_query -%}
        select min(started_at) as first_at, max(ended_at) as last_at
        from {{ ref('fct_trips') }}
        where landed_at > {{ timestamp_literal(since) }}
    {%- endset -%}
    {%- set incidents_query -%}
        {%- for status in contract_values('incident_status') %}
            select min({{ status }}_at) as first_at, max(last_updated_at) as last_at
            from {{ ref('fct_emergency_incidents') }}
            where landed_at > {{ timestamp_literal(since) }}
            {{ 'union all' if not loop.last }}
        {%- endfor %}
    {%- endset -%}
    {%- for query in [trips_query, incidents_query] -%}
        {%- set span = span_of(query) -%}
        {%- if span is not none -%}
            {%- do days.extend(days_between(span[0], span[1])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(distinct_moments(days, 'day')) }}
{%- endmacro %}
