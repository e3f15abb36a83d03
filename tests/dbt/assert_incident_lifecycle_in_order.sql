-- Reads whole marts: run once a day with the whole_history tests (selectors.yml).
{{ config(tags=['whole_history']) }}

-- An incident moves reported -> dispatched -> on scene -> resolved: no status is
-- reached before the one it follows, and none is reached with an earlier one missing.
select
    incident_id,
    reported_at,
    dispatched_at,
    on_scene_at,
    resolved_at
from {{ ref('fct_emergency_incidents') }}
where
    dispatched_at < reported_at
    or on_scene_at < dispatched_at
    or resolved_at < on_scene_at
    or resolved_at < reported_at
    or (dispatched_at is null and on_scene_at is not null)
    or (on_scene_at is null and resolved_at is not null)
