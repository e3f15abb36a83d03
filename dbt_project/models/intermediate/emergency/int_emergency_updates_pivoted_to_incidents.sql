{#-
    One row per incident from its lifecycle updates (reported -> dispatched -> on
    scene -> resolved): when each status was first reached, the durations between
    them, and the district it happened in. A status not reached yet is null.
-#}
with

updates as (
    select * from {{ ref('stg_smartcity__emergency_updates') }}
),

districts as (
    select * from {{ ref('districts') }}
),

pivoted as (
    select
        incident_id,
        min(incident_type) as incident_type,
        max(severity) as severity,
        min(latitude) as latitude,
        min(longitude) as longitude,
        max(assigned_units_count) as assigned_units_count,
        count(*) as updates,
        {%- for status in contract_values('incident_status') %}
            min(case when incident_status = '{{ status }}' then event_at end)
                as {{ status }}_at{% if not loop.last %},{% endif %}
        {%- endfor %}
    from updates
    group by incident_id
),

located as (
    select
        pivoted.*,
        districts.district_id
    from pivoted
    left join districts
        on {{ within_district('pivoted.latitude', 'pivoted.longitude', 'districts') }}
),

final as (
    select
        incident_id,
        district_id,
        incident_type,
        severity,
        latitude,
        longitude,
        assigned_units_count,
        updates,
        case
            when resolved_at is not null then 'resolved'
            when on_scene_at is not null then 'on_scene'
            when dispatched_at is not null then 'dispatched'
            else 'reported'
        end as incident_status,
        reported_at,
        dispatched_at,
        on_scene_at,
        resolved_at,
        {{ seconds_between('reported_at', 'dispatched_at') }} as dispatch_seconds,
        {{ seconds_between('dispatched_at', 'on_scene_at') }} as travel_seconds,
        {{ seconds_between('reported_at', 'on_scene_at') }} as response_seconds,
        {{ seconds_between('reported_at', 'resolved_at') }} as resolution_seconds
    from located
)

select * from final
