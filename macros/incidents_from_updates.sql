{#-
    One row per incident from its lifecycle updates (reported -> dispatched -> on
    scene -> resolved): when each status was first reached, the durations between
    them, and the district it happened in. A status not reached yet is null.

    `updates` is a relation (or a subquery with its alias) with the columns of
    stg_smartcity__emergency_updates, holding every update of each incident it holds:
    the whole staging model for int_emergency_updates_pivoted_to_incidents, and only
    the incidents a run touches for the incremental fct_emergency_incidents.
-#}
{% macro incidents_from_updates(updates) -%}
    with

    updates as (
        select * from {{ updates }}
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
{%- endmacro %}

{#-
    Where fct_emergency_incidents reads updates from on an incremental run: the start of
    its window, or the first status of the oldest incident updated in the window, if
    earlier (the mart holds it: statuses follow one another, so the first one known is
    the earliest). A datetime on its hour; none when `since` is.
-#}
{% macro incidents_reread_from(updates, since) -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set oldest_query -%}
        select min(coalesce(reported_at, dispatched_at, on_scene_at, resolved_at))
        from {{ this }}
        where incident_id in (
            select incident_id from {{ updates }}
            where {{ hour_partitions_from(since) }}
        )
    {%- endset -%}
    {%- set oldest = on_the_hour(run_query(oldest_query).columns[0].values()[0]) -%}
    {{ return([since, oldest] | reject('none') | min) }}
{%- endmacro %}
