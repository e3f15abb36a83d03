{#-
    Round a double to a number of decimals and keep it a double. PostgreSQL has no
    round(double precision, integer), only the numeric one.
-#}
{% macro round_double(expression, decimals) -%}
    {{ return(adapter.dispatch('round_double', 'smartcity')(expression, decimals)) }}
{%- endmacro %}

{% macro default__round_double(expression, decimals) -%}
    round({{ expression }}, {{ decimals }})
{%- endmacro %}

{% macro postgres__round_double(expression, decimals) -%}
    cast(round(cast({{ expression }} as numeric), {{ decimals }}) as double precision)
{%- endmacro %}
