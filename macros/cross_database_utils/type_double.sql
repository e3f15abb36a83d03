{#- An 8-byte float. `dbt.type_float()` is 4 bytes on DuckDB, so it is not used. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'smartcity')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}

{% macro redshift__type_double() -%}
    double precision
{%- endmacro %}
