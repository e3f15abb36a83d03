{#-
    A timestamp's UTC hour as text, 'YYYY-MM-DDTHH', the same on every engine (casting
    a timestamp to text gives '...10:00:00' on one engine and '...10:00:00.000' on
    another), for ids that must match across warehouses.
-#}
{% macro hour_key(timestamp) -%}
    {{ dbt.concat([
        'cast(cast(' ~ timestamp ~ ' as date) as ' ~ dbt.type_string() ~ ')',
        "'T'",
        "lpad(cast(extract(hour from " ~ timestamp ~ ") as " ~ dbt.type_string() ~ "), 2, '0')",
    ]) }}
{%- endmacro %}
