{#
    Where a model, seed or snapshot is built: the target's schema alone, or, for a layer
    with its own schema (`+schema:` in dbt_project.yml), the target's schema with the
    layer's name after it: main_marts on DuckDB, smartcity_analytics_marts on Athena.
    Keeping the target's schema as prefix keeps two targets (a developer's and
    production, or two pull requests) apart in one warehouse, and one grant per layer
    gives BI the marts and nothing else.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim | lower }}
    {%- endif -%}
{%- endmacro %}
