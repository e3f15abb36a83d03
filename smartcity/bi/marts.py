"""The marts as a BI tool sees them, read from dbt's manifest.json: each mart's columns
with the types and descriptions its YAML declares (the contract dbt enforces), and the
marts it references (its `relationships` tests), so that nothing here restates them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

# Models of this tag are the marts (dbt_project.yml gives it to the marts folder).
MARTS_TAG = "marts"
PACKAGE = "smartcity"


class ValueKind(StrEnum):
    """A column's kind of value, whatever engine spells its type; the values are
    Tableau's datatype names."""

    STRING = "string"
    INTEGER = "integer"
    REAL = "real"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


# Type names as the project's targets spell them (the marts' YAML renders `text` on
# PostgreSQL, `varchar(65535)` on Redshift, `double precision` on both) and as DuckDB
# reports them, parameters and case aside.
KIND_OF_TYPE = {
    **dict.fromkeys(("varchar", "text", "string", "char", "character varying"), ValueKind.STRING),
    **dict.fromkeys(
        ("integer", "int", "bigint", "smallint", "tinyint", "int2", "int4", "int8"),
        ValueKind.INTEGER,
    ),
    **dict.fromkeys(
        ("double", "double precision", "float", "real", "float4", "float8"), ValueKind.REAL
    ),
    "date": ValueKind.DATE,
    **dict.fromkeys(("timestamp", "timestamp without time zone"), ValueKind.DATETIME),
    **dict.fromkeys(("boolean", "bool"), ValueKind.BOOLEAN),
}


class UnknownColumnType(RuntimeError):
    pass


def value_kind(type_name: str, where: str) -> ValueKind:
    """The kind of ``type_name`` (``where`` names the column in the error)."""
    bare = re.sub(r"\(.*\)", "", type_name).strip().lower()
    try:
        return KIND_OF_TYPE[bare]
    except KeyError:
        raise UnknownColumnType(
            f"{where} has the type {type_name!r}, which BI files have no mapping for: give "
            f"it one of {', '.join(sorted(KIND_OF_TYPE))} in its model (or add the type to "
            "smartcity/bi/marts.py)"
        ) from None


@dataclass(frozen=True)
class MartColumn:
    name: str
    kind: ValueKind
    description: str


@dataclass(frozen=True)
class Reference:
    """A column whose values are keys of another mart (a `relationships` test)."""

    column: str
    to_mart: str
    to_column: str


@dataclass(frozen=True)
class Mart:
    name: str
    description: str
    columns: tuple[MartColumn, ...]
    references: tuple[Reference, ...]


class ManifestMissing(RuntimeError):
    pass


def load_manifest(path: Path) -> dict:
    if not path.is_file():
        raise ManifestMissing(
            f"no dbt manifest at {path}: run `dbt parse` (or any dbt command) in the project "
            "first, or point --manifest at a manifest.json"
        )
    return json.loads(path.read_text())


def read_marts(manifest: dict) -> list[Mart]:
    """Every enabled mart of the project, by name, with its columns in YAML order."""
    models = {
        node["unique_id"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == PACKAGE
        and MARTS_TAG in node["tags"]
        and node["config"].get("enabled", True)
    }
    if not models:
        raise ManifestMissing("the dbt manifest has no marts: was it parsed from this project?")
    references = _references(manifest, models)
    marts = []
    for unique_id, node in models.items():
        columns = tuple(
            MartColumn(
                name=column["name"],
                kind=_column_kind(node["name"], column),
                description=column.get("description", "").strip(),
            )
            for column in node["columns"].values()
        )
        if not columns:
            raise UnknownColumnType(
                f"{node['name']} declares no columns: a mart's YAML lists each column"
            )
        marts.append(
            Mart(
                name=node["name"],
                description=node.get("description", "").strip(),
                columns=columns,
                references=tuple(references.get(unique_id, ())),
            )
        )
    return sorted(marts, key=lambda mart: mart.name)


def _column_kind(mart: str, column: dict) -> ValueKind:
    where = f"column {column['name']} of {mart}"
    if not column.get("data_type"):
        raise UnknownColumnType(f"{where} has no data_type in its YAML: the contract needs one")
    return value_kind(column["data_type"], where)


def _references(manifest: dict, models: dict[str, dict]) -> dict[str, list[Reference]]:
    """The `relationships` tests from one mart to another, per referencing mart."""
    found: dict[str, list[Reference]] = {}
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or test.get("name") != "relationships":
            continue
        source = node.get("attached_node")
        targets = [n for n in node["depends_on"]["nodes"] if n in models and n != source]
        if source not in models or len(targets) != 1:
            continue
        found.setdefault(source, []).append(
            Reference(
                column=node["column_name"],
                to_mart=models[targets[0]]["name"],
                to_column=test["kwargs"]["field"],
            )
        )
    return found
