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
            max(event_at) as last_updated_at,
            max(landed_at) as landed_at,
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
            {{ seconds_between('reported_at', 'resolved_at') }} as resolution_seconds,
            last_updated_at,
            landed_at
        from located
    )

    select * from final
{%- endmacro %}

{#- The incidents with an update landed after `since`, as a subquery. -#}
{% macro incidents_updated_since(since) -%}
    (select incident_id from {{ raw_table('emergency_updates') }} where landed_at > {{ timestamp_literal(since) }})
{%- endmacro %}

{#-
    The updates fct_emergency_incidents pivots again, as a subquery with its alias: those
    of the incidents updated since `since`, from the hour of `reread_from` on; none when
    `reread_from` is none (nothing was updated).
-#}
{% macro touched_updates(updates, since, reread_from) -%}
    {%- if reread_from is none -%}
        (select * from {{ updates }} where 1 = 0) as touched_updates
    {%- else -%}
        (
            select * from {{ updates }}
            where
                {{ hour_partitions_from(reread_from) }}
                and incident_id in {{ incidents_updated_since(since) }}
        ) as touched_updates
    {%- endif -%}
{%- endmacro %}

{#-
    Where fct_emergency_incidents reads updates from on an incremental run: the earliest
    update of the incidents updated since `since`, on its hour. That is the earlier of
    their new updates and the first time of each status the mart holds for them (the
    mart keeps when each status was first reached, so its earliest is their earliest
    update read so far). None when nothing was updated.
-#}
{% macro incidents_reread_from(since) -%}
    {%- set query -%}
        select min(event_at) as first_at from {{ raw_table('emergency_updates') }}
        where landed_at > {{ timestamp_literal(since) }}
        {%- for status in contract_values('incident_status') %}
            union all
            select min({{ status }}_at) as first_at from {{ this }}
            where incident_id in {{ incidents_updated_since(since) }}
        {%- endfor %}
    {%- endset -%}
    {%- set found = moments_of(query) -%}
    {{ return(on_the_hour(found | min) if found else none) }}
{%- endmacro %}
