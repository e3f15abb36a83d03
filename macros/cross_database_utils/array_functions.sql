{#-
    The response units of an emergency update arrive as an array of text. Engines name
    the array functions differently. The text form is the elements sorted and joined,
    the same on every engine (an array's order is not kept by every engine's reading).

    Redshift reads a Parquet list through Spectrum as a nested column, not as SUPER: no
    function takes it. redshift__deduplicate_events unnests it in its FROM clause into
    <name>__count and <name>__text, which the Redshift versions below name.
-#}
{% macro nested_text_separator() -%}
    {{ return(',') }}
{%- endmacro %}

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
    {{ array }}__count
{%- endmacro %}


{% macro array_to_text(array, separator) -%}
    {{ return(adapter.dispatch('array_to_text', 'smartcity')(array, separator)) }}
{%- endmacro %}

{% macro default__array_to_text(array, separator) -%}
    array_to_string(array(select element from unnest({{ array }}) as element order by element), '{{ separator }}')
{%- endmacro %}

{% macro duckdb__array_to_text(array, separator) -%}
    array_to_string(list_sort({{ array }}), '{{ separator }}')
{%- endmacro %}

{% macro athena__array_to_text(array, separator) -%}
    array_join(array_sort({{ array }}), '{{ separator }}')
{%- endmacro %}

{% macro redshift__array_to_text(array, separator) -%}
    {%- if separator != smartcity.nested_text_separator() -%}
        {{ exceptions.raise_compiler_error(
            "array_to_text on Redshift joins with '" ~ smartcity.nested_text_separator()
            ~ "' (the text redshift__deduplicate_events builds), not '" ~ separator ~ "'") }}
    {%- endif -%}
    {{ array }}__text
{%- endmacro %}

{#- Trino is Athena's engine: the same SQL. -#}
{% macro trino__array_to_text(array, separator) -%}
    {{ athena__array_to_text(array, separator) }}
{%- endmacro %}
