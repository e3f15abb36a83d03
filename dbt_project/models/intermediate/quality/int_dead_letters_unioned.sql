{#- Every source's dead letters in one relation, for quality reporting. -#}
{%- set sources = [
    'vehicle_telemetry', 'gps_fixes', 'camera_sightings', 'weather_readings', 'emergency_updates'
] %}
{%- set columns = [
    'dead_letter_id', 'source_name', 'reason_code', 'reason_message', 'raw_key', 'raw_value',
    'kafka_published_at', 'dead_lettered_at', 'kafka_topic', 'kafka_partition', 'kafka_offset'
] %}

with

unioned as (
    {% for source_name in sources -%}
        select {{ columns | join(', ') }}
        from {{ ref('stg_smartcity__dead_letter_' ~ source_name) }}
        {% if not loop.last %}union all
        {% endif -%}
    {% endfor %}
)

select * from unioned
