{#-
    Iceberg upkeep on Athena: `dbt run-operation maintain_iceberg_tables`, once a day
    (the MWAA DAG's daily run and the cron lines in docs/operations.md).

    Every merge or append into an Iceberg table adds data files, delete files and a
    snapshot (and dbt-athena a Glue table version, which it expires itself). Athena's
    `OPTIMIZE ... REWRITE DATA USING BIN_PACK` rewrites small files and applies the
    delete files; `VACUUM` expires snapshots older than the table's
    `vacuum_max_snapshot_age_seconds` (Athena's default: 5 days) and removes the files
    nothing references. Both may need several runs on a large table: dbt-athena repeats
    them while Athena says more runs are needed.

    The tables: the incremental models, the seeds and the snapshot, which dbt writes in
    place; a `table` model is rebuilt whole each run, so it has nothing to compact.
    Other targets: nothing to do, said once.
-#}
{% macro maintain_iceberg_tables() %}
    {%- if target.type != 'athena' -%}
        {{ log("maintain_iceberg_tables: only Athena keeps Iceberg tables here; nothing to do on " ~ target.type, info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept_in_place = ['incremental', 'seed', 'snapshot'] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.package_name == project_name and node.config.materialized in kept_in_place -%}
            {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- if relation is not none -%}
                {%- set name = relation.schema ~ '.' ~ relation.identifier -%}
                {{ log("maintain_iceberg_tables: optimize and vacuum " ~ name, info=true) }}
                {%- do adapter.run_operation_with_potential_multiple_runs("optimize " ~ name ~ " rewrite data using bin_pack", "optimize") -%}
                {%- do adapter.run_operation_with_potential_multiple_runs("vacuum " ~ name, "vacuum") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}
