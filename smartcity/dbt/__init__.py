"""dbt around the project: the files generated for it, its packages, its schedule, the
DuckDB views over the lake, the checks before it runs, and its docs with column lineage."""
