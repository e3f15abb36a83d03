{#-
    Round to a number of decimals and return a double. The value goes through an exact
    decimal first, so every engine rounds a half the same way (a double such as 2.675
    is stored just below it, and rounding it directly gives 2.67 on some engines and
    2.68 on others), and no engine's round() is asked for a signature it lacks
    (PostgreSQL has no round(double precision, integer)). decimal(38, 12) spells out the
    scale: a bare numeric is a whole number on Redshift.
-#}
{% macro round_double(expression, decimals) -%}
    {{ return(adapter.dispatch('round_double', 'smartcity')(expression, decimals)) }}
{%- endmacro %}

{% macro default__round_double(expression, decimals) -%}
    cast(round(cast({{ expression }} as decimal(38, 12)), {{ decimals }}) as {{ type_double() }})
{%- endmacro %}
