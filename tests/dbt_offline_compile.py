"""Compile the dbt project for a warehouse that cannot run here, without connecting.

dbt asks the warehouse which relations exist while it compiles (``is_incremental()``
does), and an incremental model asks its own table for its newest landing time and the
raw tables what landed since (macros/landed_since.sql). For a target with no local stand-in (Redshift),
this script answers those two questions itself, then runs ``dbt compile`` in-process:
either no relation exists (the SQL of a first build) or the named incremental models
exist and every answer is NEWEST_ROW (the SQL of an incremental run). Nothing
else of the adapter is replaced, and it never connects.

Usage: python tests/dbt_offline_compile.py ADAPTER_CLASS [--existing NAME ...] -- DBT_ARGS
"""

from __future__ import annotations

import argparse
import importlib
import sys

# What every query of an incremental model gets back: a moment twice (macros/landed_since.sql
# reads the last column, or the last two as a first and a last moment).
NEWEST_ROW = ("2026-05-04 07:12:00", "2026-05-04 07:12:00")


def main() -> int:
    if "--" not in sys.argv:
        raise SystemExit(__doc__)
    split = sys.argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("adapter_class", help="e.g. dbt.adapters.redshift.RedshiftAdapter")
    parser.add_argument("--existing", nargs="*", default=[], help="relations that exist")
    args = parser.parse_args(sys.argv[1:split])
    module_name, class_name = args.adapter_class.rsplit(".", 1)
    adapter_class = getattr(importlib.import_module(module_name), class_name)

    def list_relations_without_caching(self, schema_relation):
        return [
            self.Relation.create(
                database=schema_relation.database,
                schema=schema_relation.schema,
                identifier=name,
                type="table",
            )
            for name in args.existing
        ]

    def execute(self, sql, auto_begin=False, fetch=False, limit=None):
        import agate
        from dbt.adapters.contracts.connection import AdapterResponse

        # Every query compile sends asks when something landed or changed.
        table = agate.Table([NEWEST_ROW], ["first_at", "last_at"])
        return AdapterResponse(_message="OK"), table

    adapter_class.list_relations_without_caching = list_relations_without_caching
    adapter_class.execute = execute

    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(sys.argv[split + 1 :])
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
