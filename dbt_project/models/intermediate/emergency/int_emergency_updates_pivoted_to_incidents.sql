{#- Every incident, from all of its updates (macros/incidents_from_updates.sql). -#}
{{ incidents_from_updates(ref('stg_smartcity__emergency_updates')) }}
