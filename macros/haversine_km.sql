{#-
    Great-circle distance in kilometres between two WGS84 points (the haversine
    formula, Earth radius 6371 km). The simulators use the same formula
    (ingestion/simulators/city.py), so trip distances compare with the odometer.
-#}
{% macro haversine_km(latitude_from, longitude_from, latitude_to, longitude_to) -%}
    2 * 6371.0 * asin(sqrt(
        power(sin((radians({{ latitude_to }}) - radians({{ latitude_from }})) / 2), 2)
        + cos(radians({{ latitude_from }})) * cos(radians({{ latitude_to }}))
        * power(sin((radians({{ longitude_to }}) - radians({{ longitude_from }})) / 2), 2)
    ))
{%- endmacro %}
