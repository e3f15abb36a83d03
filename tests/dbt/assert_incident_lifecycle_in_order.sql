-- Reads whole marts: run once a day with the whole_history tests (selectors.yml).
-- A guard against data, not against the project's logic: the contract accepts any
-- timestamps, so an incident can come out of order. It warns and counts; the check
-- itself is fct_implausible_records', which names each such incident.
{{ config(tags=['whole_history', 'data_guard'], severity='warn') }}

-- An incident moves reported -> dispatched -> on scene -> resolved: no status is
-- reached before the one it follows, and none is reached with an earlier one missing.
select
    record_id as incident_id,
    observed_at as reported_at
from {{ ref('fct_implausible_records') }}
where check_name = 'incident_lifecycle_out_of_order'
