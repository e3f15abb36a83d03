{#-
    How far traffic falls short of free flow: 0 when the mean speed is at or above the
    district's free-flow speed, 1 when traffic stands still. Rounded to 3 decimals.
-#}
{% macro congestion_index(avg_speed_kmh, free_flow_speed_kmh) -%}
    {{ round_double(
        'greatest(0.0, 1.0 - ' ~ avg_speed_kmh ~ ' / ' ~ free_flow_speed_kmh ~ ')', 3
    ) }}
{%- endmacro %}
