"""The column-level lineage report: dbt-colibri over the artifacts of `dbt docs generate`.

dbt-colibri parses each model's compiled SQL (macros and Jinja already rendered by dbt)
with sqlglot in the adapter's dialect, and writes one static page (the data inlined)
plus the lineage as JSON. It is run here through its library rather than its command:
the command prints a banner and asks the package index whether a newer release exists,
and the page it writes would send usage statistics from the reader's browser unless
told not to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# What colibri writes into the output folder.
PAGE = "index.html"
LINEAGE_JSON = "colibri-manifest.json"
PARSING_ERRORS = "colibri-parsing-errors.json"


@dataclass(frozen=True)
class LineageReport:
    page: Path
    lineage_json: Path
    # What colibri could not follow (a model, or one column of it), one line each: it
    # logs them and goes on, leaving those columns without lineage in the report.
    problems: tuple[str, ...]
    # Models the catalog has columns for: none means the warehouse was never built.
    models_with_columns: int


def _keep_set_operation_lineage() -> None:
    """dbt-colibri 0.3.7 reads ``Scope.union_scopes``, which sqlglot 30.19 renamed to
    ``set_operation_scopes``; without the old name every column of a model built with
    UNION (fct_city_daily_kpis, fct_implausible_records) loses its lineage. Nothing is
    done where sqlglot still has the old name; once colibri reads the new one, this can
    go (tests/e2e/test_lineage.py shows whether UNION models are followed)."""
    from sqlglot.optimizer.scope import Scope

    if not hasattr(Scope, "union_scopes") and hasattr(Scope, "set_operation_scopes"):
        Scope.union_scopes = property(lambda scope: scope.set_operation_scopes)  # type: ignore[attr-defined]


@contextmanager
def _errors_logged_by_colibri() -> Iterator[list[str]]:
    """The error lines colibri logs meanwhile, kept rather than printed one by one."""
    errors: list[str] = []
    collector = logging.Handler(logging.ERROR)
    collector.emit = lambda record: errors.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("colibri")
    logger.addHandler(collector)
    try:
        yield errors
    finally:
        logger.removeHandler(collector)


def _models_with_columns(catalog: Path) -> int:
    nodes = json.loads(catalog.read_text())["nodes"]
    return sum(
        1 for node_id, node in nodes.items() if node_id.startswith("model.") and node["columns"]
    )


def write(artifacts: Path, output: Path) -> LineageReport:
    """Write the report for the manifest and catalog that `dbt docs generate` wrote into
    ``artifacts`` (its target folder) into ``output``."""
    manifest, catalog = artifacts / "manifest.json", artifacts / "catalog.json"
    try:
        from dbt_colibri.lineage_extractor.extractor import DbtColumnLineageExtractor
        from dbt_colibri.report.generator import DbtColibriReportGenerator
    except ImportError as error:  # installed without the extra
        raise RuntimeError(
            f"the column lineage needs dbt-colibri ({error.name} is missing): "
            "pip install 'smartcity[bi]', or run `make setup`"
        ) from None
    _keep_set_operation_lineage()

    output.mkdir(parents=True, exist_ok=True)
    # Written only when a model fails: one from an earlier run would outlive its cause.
    (output / PARSING_ERRORS).unlink(missing_ok=True)
    with _errors_logged_by_colibri() as problems:
        extractor = DbtColumnLineageExtractor(str(manifest), str(catalog))
        DbtColibriReportGenerator(extractor, disable_telemetry=True).generate_report(str(output))
    return LineageReport(
        page=output / PAGE,
        lineage_json=output / LINEAGE_JSON,
        problems=tuple(problems),
        models_with_columns=_models_with_columns(catalog),
    )
