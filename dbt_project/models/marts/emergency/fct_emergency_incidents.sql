{{ config(
    materialized='incremental',
    unique_key='incident_id',
    sort=['reported_at'],
    meta={'window_column': 'reported_on'},
) }}

{#-
    Incremental by what landed (macros/landed_since.sql): each run pivots again every
    update of the incidents with an update landed since its last run, and replaces their
    rows. Their earlier updates lie in partitions before the new ones, back to the
    earliest status the mart holds for them; so the run reads the partitions from there
    on, not the whole history (macros/incidents_from_updates.sql pivots them).
-#}
-- depends_on: {{ ref('stg_smartcity__emergency_updates') }}
-- depends_on: {{ ref('districts') }}
{%- set updates = ref('stg_smartcity__emergency_updates') %}
{%- set since = landed_since() %}
{%- set reread_from = incidents_reread_from(since) if since is not none else none %}

with

incidents as (
    {%- if since is none %}
        select * from {{ ref('int_emergency_updates_pivoted_to_incidents') }}
    {%- else %}
        {{ incidents_from_updates(touched_updates(updates, since, reread_from)) }}
    {%- endif %}
),

incident_types as (
    select * from {{ ref('incident_types') }}
),

final as (
    select
        incidents.incident_id,
        incidents.district_id,
        incidents.incident_type,
        incident_types.incident_category,
        cast(incidents.severity as integer) as severity,
        incidents.incident_status,
        cast(incidents.assigned_units_count as integer) as assigned_units_count,
        incidents.latitude,
        incidents.longitude,
        incidents.reported_at,
        cast(incidents.reported_at as date) as reported_on,
        incidents.dispatched_at,
        incidents.on_scene_at,
        incidents.resolved_at,
        cast(incidents.dispatch_seconds as {{ dbt.type_bigint() }}) as dispatch_seconds,
        cast(incidents.travel_seconds as {{ dbt.type_bigint() }}) as travel_seconds,
        cast(incidents.response_seconds as {{ dbt.type_bigint() }}) as response_seconds,
        cast(incidents.resolution_seconds as {{ dbt.type_bigint() }}) as resolution_seconds,
        cast(incident_types.target_response_minutes as integer) as target_response_minutes,
        case
            when incidents.response_seconds is null then null
            when incidents.response_seconds <= incident_types.target_response_minutes * 60
                then true
            else false
        end as met_response_target,
        incidents.last_updated_at,
        incidents.landed_at
    from incidents
    left join incident_types
        on incidents.incident_type = incident_types.incident_type
)

select * from final
