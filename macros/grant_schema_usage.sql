{#-
    dbt's grants config grants a model's or seed's relation to its grantees after every
    build, and again after a rebuild swaps a table in. Reading a relation also needs the
    usage of its schema, which dbt does not grant: this on-run-end hook grants it on the
    schemas of the run's granted relations (the marts and the reference seeds) to their
    grantees, and on nothing else. PostgreSQL and Redshift only: Trino has no schema
    privilege, DuckDB no users, Athena its own (Lake Formation and IAM). Once, at the
    end: a post-hook per model would grant on one schema from several threads at once,
    which PostgreSQL refuses ("tuple concurrently updated"). dbt counts the hook among
    a run's results, as one more PASS.
-#}
{% macro grant_schema_usage(results) -%}
    {%- if not execute or target.type not in ['postgres', 'redshift'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set schemas, grantees = [], [] -%}
    {%- for result in results if result.node.resource_type in ['model', 'seed'] -%}
        {%- for grantee in (result.node.config.grants or {}).get('select', []) -%}
            {%- do grantees.append(grantee) if grantee not in grantees -%}
            {%- do schemas.append(result.node.schema) if result.node.schema not in schemas -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if grantees -%}
        {%- set grant -%}
            grant usage on schema {{ schemas | join(', ') }} to {{ grantees | join(', ') }}
        {%- endset -%}
        {{ log("granting " ~ grant | trim, info=true) }}
        {#- In a transaction of its own, committed, as dbt's materializations do. -#}
        {%- call statement('grant_schema_usage', auto_begin=true) -%}
            {{ grant }}
        {%- endcall -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
