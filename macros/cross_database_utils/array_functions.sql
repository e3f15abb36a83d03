{#-
    The response units of an emergency update arrive as an array. Engines name the
    array functions differently; Redshift reads a Parquet list through Spectrum as
    SUPER.
-#}
{% macro array_size(array) -%}
    {{ return(adapter.dispatch('array_size', 'smartcity')(array)) }}
{%- endmacro %}

{% macro default__array_size(array) -%}
    cardinality({{ array }})
{%- endmacro %}

{% macro duckdb__array_size(array) -%}
    len({{ array }})
{%- endmacro %}

{% macro redshift__array_size(array) -%}
    get_array_length({{ array }})
{%- endmacro %}


{% macro array_to_text(array, separator) -%}
    {{ return(adapter.dispatch('array_to_text', 'smartcity')(array, separator)) }}
{%- endmacro %}

{% macro default__array_to_text(array, separator) -%}
    array_to_string({{ array }}, '{{ separator }}')
{%- endmacro %}

{% macro athena__array_to_text(array, separator) -%}
    array_join({{ array }}, '{{ separator }}')
{%- endmacro %}

{% macro redshift__array_to_text(array, separator) -%}
    {#- SUPER has no join; its JSON text is the closest readable form. -#}
    json_serialize({{ array }})
{%- endmacro %}

{#- Trino is Athena's engine: the same SQL. -#}
{% macro trino__array_to_text(array, separator) -%}
    {{ athena__array_to_text(array, separator) }}
{%- endmacro %}
