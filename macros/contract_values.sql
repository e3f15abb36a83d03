{#- Generated from ingestion/ by `smartcity dbt-sources --write`; do not edit. -#}
{#- The enumerations of the contracts and the landing job, by staged column name,
    for accepted_values tests: values: "{{ contract_values('incident_type') }}" -#}
{% macro contract_values(name) -%}
    {%- set enumerations = {
        'direction': ['north', 'east', 'south', 'west'],
        'engine_status': ['running', 'idle', 'off'],
        'fuel_type': ['petrol', 'diesel', 'electric', 'hybrid'],
        'incident_status': ['reported', 'dispatched', 'on_scene', 'resolved'],
        'incident_type': ['fire', 'medical', 'traffic_collision', 'crime', 'hazmat'],
        'reason_code': ['empty_payload', 'payload_too_large', 'not_utf8', 'not_json', 'not_an_object', 'null_key', 'unknown_event_type', 'wrong_topic', 'unknown_schema_version', 'missing_required_field', 'wrong_type', 'unstorable_text', 'bad_timestamp', 'malformed_id', 'value_not_allowed', 'out_of_range', 'event_time_out_of_range'],
        'source_name': ['vehicle_telemetry', 'gps_fixes', 'camera_sightings', 'weather_readings', 'emergency_updates'],
    } -%}
    {{ return(enumerations[name]) }}
{%- endmacro %}
