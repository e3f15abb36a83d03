"""The dbt project keeps the rules reviewers look for, read off dbt's own manifest.

These are the checks of dbt-project-evaluator (modelling, testing, documentation,
structure, governance). The package itself comes from the dbt package hub, which this
project's machines cannot reach, so the rules are written here against the manifest
that `dbt parse` writes. An exception is a row, with its reason, in
tests/dbt_project_rules_exceptions.csv; every other violation fails.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from smartcity.settings import PROJECT_ROOT

EXCEPTIONS_FILE = PROJECT_ROOT / "tests" / "dbt_project_rules_exceptions.csv"
LAYER_PREFIXES = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_")}
# Athena fails on deep stacks of views; dbt-project-evaluator warns past four.
MAX_VIEW_CHAIN = 4


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt-parse")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--target-path", str(target)],
        cwd=PROJECT_ROOT,
        env={
            "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project"),
            "DO_NOT_TRACK": "1",
            "PATH": str(Path(sys.executable).parent),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads((target / "manifest.json").read_text())


def exceptions(rule: str) -> set[str]:
    with EXCEPTIONS_FILE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(row["reason"].strip() for row in rows), "every exception needs a reason"
    return {row["resource"] for row in rows if row["rule"] == rule}


def models(manifest: dict) -> dict[str, dict]:
    return {
        key: node
        for key, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == "smartcity"
    }


def layer(node: dict) -> str:
    return node["fqn"][1]


def violations(rule: str, found: set[str]) -> set[str]:
    return found - exceptions(rule)


def test_models_are_named_for_their_layer(manifest: dict) -> None:
    wrong = {
        key
        for key, node in models(manifest).items()
        if not node["name"].startswith(LAYER_PREFIXES.get(layer(node), ("",)))
        or layer(node) not in LAYER_PREFIXES
    }
    assert violations("model_naming_conventions", wrong) == set()


def test_only_staging_reads_sources_and_each_staging_model_reads_one(manifest: dict) -> None:
    direct_source = set()
    for key, node in models(manifest).items():
        parents = node["depends_on"]["nodes"]
        sources = [p for p in parents if p.startswith("source.")]
        if layer(node) == "staging":
            if len(sources) != 1 or len(parents) != 1:
                direct_source.add(key)
        elif sources:
            direct_source.add(key)
    assert violations("source_fanout_and_direct_joins", direct_source) == set()


def test_every_source_table_has_exactly_one_staging_model(manifest: dict) -> None:
    readers = defaultdict(list)
    for key, node in models(manifest).items():
        for parent in node["depends_on"]["nodes"]:
            if parent.startswith("source."):
                readers[parent].append(key)
    wrong = {s for s in manifest["sources"] if len(readers[s]) != 1}
    assert violations("staging_one_to_one_with_sources", wrong) == set()


def test_no_model_depends_on_a_later_layer_nor_staging_on_staging(manifest: dict) -> None:
    order = {"staging": 0, "intermediate": 1, "marts": 2}
    all_models = models(manifest)
    wrong = set()
    for key, node in all_models.items():
        for parent in node["depends_on"]["nodes"]:
            if parent in all_models:
                parent_layer = layer(all_models[parent])
                if layer(node) == "staging" or order[parent_layer] > order[layer(node)]:
                    wrong.add(key)
    assert violations("layer_dependencies", wrong) == set()


def test_every_model_has_a_tested_primary_key(manifest: dict) -> None:
    tested: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    composite = set()
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata")
        if node["resource_type"] != "test" or not meta or not node.get("attached_node"):
            continue
        if meta["name"] == "unique_combination_of_columns":
            composite.add(node["attached_node"])
        elif meta["name"] in ("unique", "not_null"):
            tested[node["attached_node"]][node["column_name"]].add(meta["name"])
    wrong = {
        key
        for key in models(manifest)
        if key not in composite
        and not any(names >= {"unique", "not_null"} for names in tested[key].values())
    }
    assert violations("missing_primary_key_tests", wrong) == set()


def test_every_model_source_seed_and_column_is_documented(manifest: dict) -> None:
    resources = {
        **models(manifest),
        **manifest["sources"],
        **{
            k: n for k, n in manifest["nodes"].items() if n["resource_type"] in ("seed", "snapshot")
        },
    }
    undocumented = set()
    for key, node in resources.items():
        if not node["description"].strip():
            undocumented.add(key)
        undocumented |= {
            f"{key}.{name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        }
    assert violations("undocumented", undocumented) == set()


def test_sources_have_freshness(manifest: dict) -> None:
    stale = {
        key
        for key, source in manifest["sources"].items()
        if not source.get("loaded_at_field")
        or not (source.get("freshness") or {}).get("error_after", {}).get("count")
    }
    assert violations("sources_have_freshness", stale) == set()


def test_marts_are_public_with_enforced_contracts(manifest: dict) -> None:
    wrong = {
        key
        for key, node in models(manifest).items()
        if layer(node) == "marts"
        and (node["access"] != "public" or not node["config"]["contract"]["enforced"])
    }
    assert violations("public_models_without_contract", wrong) == set()


def test_exposures_read_only_marts(manifest: dict) -> None:
    all_models = models(manifest)
    wrong = {
        f"{key}->{parent}"
        for key, exposure in manifest["exposures"].items()
        for parent in exposure["depends_on"]["nodes"]
        if parent not in all_models or layer(all_models[parent]) != "marts"
    }
    assert violations("exposure_parents", wrong) == set()
    assert manifest["exposures"], "the dashboards are declared as exposures"


def test_no_chain_of_views_is_deeper_than_athena_allows(manifest: dict) -> None:
    all_models = models(manifest)

    def depth(key: str) -> int:
        node = all_models[key]
        if node["config"]["materialized"] != "view":
            return 0
        parents = [p for p in node["depends_on"]["nodes"] if p in all_models]
        return 1 + max((depth(p) for p in parents), default=0)

    deep = {key for key in all_models if depth(key) > MAX_VIEW_CHAIN}
    assert violations("chained_views_dependencies", deep) == set()


def test_no_relation_is_named_outside_ref_and_source(manifest: dict) -> None:
    hard_coded = {
        key
        for key, node in models(manifest).items()
        if re.search(r"\b(from|join)\s+\"?[a-z_]+\"?\.\"?[a-z_]+", node["raw_code"], re.I)
    }
    assert violations("hard_coded_references", hard_coded) == set()


def test_every_dispatched_macro_has_a_fallback_athena_can_use(manifest: dict) -> None:
    macros = {m["name"]: m for m in manifest["macros"].values() if m["package_name"] == "smartcity"}
    dispatched = {name for name, m in macros.items() if "adapter.dispatch(" in m["macro_sql"]}
    wrong = {
        name
        for name in dispatched
        if f"default__{name}" not in macros and f"athena__{name}" not in macros
    }
    assert dispatched, "the cross-database macros dispatch per adapter"
    assert violations("dispatch_without_default", wrong) == set()


def test_views_are_late_binding_for_redshift_spectrum(manifest: dict) -> None:
    bound = {
        key
        for key, node in models(manifest).items()
        if node["config"]["materialized"] == "view" and node["config"].get("bind") is not False
    }
    assert violations("views_bound_to_spectrum", bound) == set()


def test_every_exception_names_a_real_resource(manifest: dict) -> None:
    with EXCEPTIONS_FILE.open(newline="") as handle:
        named = {row["resource"] for row in csv.DictReader(handle)}
    known = set(manifest["nodes"]) | set(manifest["sources"]) | set(manifest["exposures"])
    assert named - known == set(), "remove exceptions for resources that are gone"
