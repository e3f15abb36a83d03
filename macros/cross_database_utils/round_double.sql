{#-
    Round to a number of decimals and return a double, whatever the input: a decimal
    literal in the expression makes a decimal on Trino (Athena). PostgreSQL has no
    round(double precision, integer), only the numeric one.
-#}
{% macro round_double(expression, decimals) -%}
    {{ return(adapter.dispatch('round_double', 'smartcity')(expression, decimals)) }}
{%- endmacro %}

{% macro default__round_double(expression, decimals) -%}
    round(cast({{ expression }} as {{ type_double() }}), {{ decimals }})
{%- endmacro %}

{% macro postgres__round_double(expression, decimals) -%}
    cast(round(cast({{ expression }} as numeric), {{ decimals }}) as double precision)
{%- endmacro %}
