{#- Every source's dead letters in one relation, for quality reporting. -#}
{%- set sources = [
    'vehicle_telemetry', 'gps_fixes', 'camera_sightings', 'weather_readings', 'emergency_updates'
] %}

with

{% for source_name in sources -%}
{{ source_name }} as (
    select * from {{ ref('stg_smartcity__dead_letter_' ~ source_name) }}
),

{% endfor -%}

unioned as (
    {% for source_name in sources -%}
    select * from {{ source_name }}
    {% if not loop.last %}union all
    {% endif -%}
    {% endfor %}
)

select * from unioned
