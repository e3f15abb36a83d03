{#-
    Join condition placing a point in a district of the districts seed. The boxes are
    half-open, so a point on a shared edge belongs to exactly one district; the
    simulators use the same rule (ingestion/simulators/city.py).
-#}
{% macro within_district(latitude, longitude, districts) -%}
    {{ latitude }} >= {{ districts }}.min_latitude
    and {{ latitude }} < {{ districts }}.max_latitude
    and {{ longitude }} >= {{ districts }}.min_longitude
    and {{ longitude }} < {{ districts }}.max_longitude
{%- endmacro %}
