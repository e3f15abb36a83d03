"""Render the dbt source and staging definitions from the lake's tables.

The committed ``_smartcity__sources.yml`` and ``_smartcity__models.yml`` are this
module's output; a test fails when they drift from :mod:`foundation.lake_tables` and the
contracts. After changing a contract, run ``smartcity dbt-sources --write``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from foundation.contracts import CONTRACTS, Contract, Field, FieldType
from foundation.environment import VARIABLES
from foundation.lake_tables import (
    DEAD_LETTER_PARTITION_KEYS,
    DEAD_LETTERS,
    ENGINE_TYPES,
    LAKE_TABLES,
    LANDING_COLUMNS,
    RAW_PARTITION_KEYS,
    REASON_CODES,
    LakeTable,
    landing_metadata,
)
from smartcity.dbt.profiles import PROFILES_FILE, render_profiles
from smartcity.settings import PROJECT_ROOT

STAGING_DIR = PROJECT_ROOT / "dbt_project" / "models" / "staging" / "smartcity"
SOURCES_FILE = STAGING_DIR / "_smartcity__sources.yml"
STAGING_MODELS_FILE = STAGING_DIR / "_smartcity__models.yml"
ENUMERATIONS_FILE = PROJECT_ROOT / "macros" / "contract_values.sql"
LANDING_METADATA_FILE = PROJECT_ROOT / "macros" / "landing_metadata.sql"

# Where the raw tables live: the schema of DuckDB's views over the lake's Iceberg tables
# (smartcity/dbt/duckdb_lake.py), the Glue database (Athena, and Trino's Iceberg catalog on
# Glue), a Spectrum external schema over it (Redshift), the namespace of the lake's own
# catalog (Trino on a local lake), or the schema that `smartcity load-postgres` fills.
# One name.
RAW_SCHEMA = (
    f"{{{{ env_var('SMARTCITY_RAW_SCHEMA', '{VARIABLES['SMARTCITY_RAW_SCHEMA'].default}') }}}}"
)
# Trino may read the lake through another Iceberg catalog than the one it builds the
# models in (the tests attach each local lake's own catalog); elsewhere the raw tables
# are in the target's own database.
RAW_DATABASE = (
    f"{{{{ env_var('SMARTCITY_TRINO_RAW_CATALOG', "
    f"'{VARIABLES['SMARTCITY_TRINO_RAW_CATALOG'].default}') if target.type == 'trino'"
    " else target.database }}"
)

# Staging columns computed from a contract field rather than renamed from one: each one's
# SQL, placed after the field it is computed from; their descriptions are in
# _columns__docs.md.
DERIVED_STAGING_COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "gps_fixes": {"speed_mps": ("speed_over_ground_kmh", "speed_over_ground_kmh / 3.6")},
    "weather_readings": {"visibility_km": ("visibility_m", "visibility_m / 1000.0")},
    "emergency_updates": {
        "assigned_units_count": ("units", "{{ array_size('units') }}"),
        "assigned_units": ("units", "{{ array_to_text('units', nested_text_separator()) }}"),
    },
}
HEADER = (
    "# Generated from foundation/lake_tables.py by `smartcity dbt-sources --write`; do not edit.\n"
)


def _source_table(table: LakeTable) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if table is DEAD_LETTERS:
        config["freshness"] = None  # a quiet dead-letter table is the good case
    return {
        "name": table.name,
        "description": table.description,
        **({"config": config} if config else {}),
        "columns": [
            {
                "name": column.name,
                "description": column.description,
                "data_type": ENGINE_TYPES[column.type].duckdb,
            }
            for column in table.all_columns
        ],
    }


def tables() -> list[dict[str, Any]]:
    """Every source table: the raw table of each contract, then the dead letters."""
    return [_source_table(table) for table in LAKE_TABLES]


def render_sources() -> str:
    document = {
        "version": 2,
        "sources": [
            {
                "name": "smartcity",
                "database": RAW_DATABASE,
                "schema": RAW_SCHEMA,
                "description": (
                    "Raw city sensor events landed by the Spark job as Apache Iceberg tables "
                    "in the lake, partitioned by the hour of event_at, and the records that "
                    "failed validation (dead letters, partitioned by source and day). "
                    "Generated from foundation/lake_tables.py by `smartcity dbt-sources --write`."
                ),
                "config": {
                    "loaded_at_field": "landed_at",
                    "freshness": {
                        "warn_after": {"count": 1, "period": "hour"},
                        "error_after": {"count": 24, "period": "hour"},
                        "filter": FRESHNESS_FILTER,
                    },
                },
                "tables": tables(),
            }
        ],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=100)


# Where a warehouse bills by the byte read, freshness looks for the newest landed row in
# the partitions of the last days only (macros/recent_partitions.sql);
# elsewhere in the whole table. current_date, not a date fixed when dbt parses: the MWAA
# DAG reads a manifest made at deploy time.
FRESHNESS_FILTER = (
    f"{{{{ (\"{RAW_PARTITION_KEYS[0].name} >= current_date - interval '\" ~ var('recent_days')"
    " ~ \"' day\") if var('recent_days') and target.type in var('recent_days_targets') else ''"
    " }}"
)


def _column(name: str, tests: list[Any] | None = None) -> dict[str, Any]:
    column: dict[str, Any] = {"name": name, "description": f"{{{{ doc('{name}') }}}}"}
    if tests:
        column["data_tests"] = tests
    return column


# Uniqueness holds over every row only: a test of the once-a-day selection (selectors.yml).
UNIQUE = {"unique": {"config": {"tags": ["whole_history"]}}}


def field_tests(field: Field) -> list[Any]:
    """What staging checks of a contract field: the landing job's own rules, again."""
    tests: list[Any] = [UNIQUE, "not_null"] if field.name == "event_id" else []
    if field.required and field.name != "event_id":
        tests.append("not_null")
    if field.allowed:
        tests.append({"accepted_values": {"arguments": {"values": list(field.allowed)}}})
    if field.minimum is not None or field.maximum is not None:
        bounds = {"min_value": field.minimum, "max_value": field.maximum}
        tests.append(
            {
                "dbt_utils.accepted_range": {
                    "arguments": {k: v for k, v in bounds.items() if v is not None}
                }
            }
        )
    return tests


def _staging_model(contract: Contract) -> dict[str, Any]:
    columns = [
        _column(field.staged_name, field_tests(field))
        for field in contract.fields
        if field.staged_name is not None
    ]
    columns += [_column(name) for name in DERIVED_STAGING_COLUMNS.get(contract.source, {})]
    columns += [_column(c.name) for c in LANDING_COLUMNS]
    columns += [_column(c.name, ["not_null"]) for c in RAW_PARTITION_KEYS]
    return {
        "name": f"stg_smartcity__{contract.source}",
        "description": (
            f"{contract.description} One row per event, deduplicated on event_id (the first"
            " landed copy is kept). Renamed and typed; ingestion metadata and the partition"
            " keys kept, so that filters on "
            + " and ".join(c.name for c in RAW_PARTITION_KEYS)
            + " prune the raw files read."
        ),
        "columns": columns,
    }


def _dead_letters_model() -> dict[str, Any]:
    values = enumerations()
    return {
        "name": "stg_smartcity__dead_letters",
        "description": (
            "One row per record that the landing job refused, from every source, with its"
            " reason and the original bytes."
        ),
        "columns": [
            _column("dead_letter_id", [UNIQUE, "not_null"]),
            _column(
                "source_name",
                ["not_null", {"accepted_values": {"arguments": {"values": values["source_name"]}}}],
            ),
            _column(
                "reason_code",
                ["not_null", {"accepted_values": {"arguments": {"values": values["reason_code"]}}}],
            ),
            *[
                _column(c.name)
                for c in DEAD_LETTERS.columns
                if c.name not in ("reason_code", "dead_lettered_at")
            ],
            _column("dead_lettered_at", ["not_null"]),
            _column(DEAD_LETTER_PARTITION_KEYS[1].name, ["not_null"]),
        ],
    }


def render_staging_models() -> str:
    document = {
        "version": 2,
        "models": [_staging_model(c) for c in CONTRACTS] + [_dead_letters_model()],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=100)


def enumerations() -> dict[str, list[str]]:
    """Every enumeration a column from staging on holds, by the column's staged name."""
    values = {
        field.staged_name: list(field.allowed)
        for contract in CONTRACTS
        for field in contract.fields
        if field.allowed and field.staged_name
    }
    values["source_name"] = [c.source for c in CONTRACTS]
    values["reason_code"] = list(REASON_CODES)
    return dict(sorted(values.items()))


def render_enumerations() -> str:
    """A macro handing the enumerations to tests downstream of staging, so that a YAML
    file names an enumeration instead of copying it:
    ``values: "{{ contract_values('incident_type') }}"``."""
    lines = [
        "{#- Generated from ingestion/ by `smartcity dbt-sources --write`; do not edit. -#}",
        "{#- The enumerations of the contracts and the landing job, by staged column name,",
        "    for accepted_values tests: values: \"{{ contract_values('incident_type') }}\" -#}",
        "{% macro contract_values(name) -%}",
        "    {%- set enumerations = {",
        *[f"        '{name}': {values!r}," for name, values in enumerations().items()],
        "    } -%}",
        "    {{ return(enumerations[name]) }}",
        "{%- endmacro %}",
    ]
    return "\n".join(lines) + "\n"


def staging_model_file(contract: Contract) -> Path:
    return STAGING_DIR / f"stg_smartcity__{contract.source}.sql"


def render_staging_sql(contract: Contract) -> str:
    """A source's staging model: its events deduplicated, each contract field renamed as
    its ``staged_as`` says (or dropped), the derived columns after the field each is
    computed from, then what every staging model carries from the landing job."""
    derived = DERIVED_STAGING_COLUMNS.get(contract.source, {})
    lines = []
    for field in contract.fields:
        if field.name == "event_at":
            continue  # among the landing metadata
        if field.since_version > 1:
            lines.append(f"-- contract version {field.since_version} on; null in earlier records")
        if field.staged_name is not None:
            renamed = f" as {field.staged_name}" if field.staged_name != field.name else ""
            lines.append(f"{field.name}{renamed},")
        lines += [f"{sql} as {name}," for name, (of, sql) in derived.items() if of == field.name]
    select = "\n".join(f"        {line}" for line in lines)
    return (
        # A Jinja comment: gone once rendered, so no engine sees it in the view's SQL.
        "{#- Generated from foundation/contracts.py by `smartcity dbt-sources --write`; do not"
        " edit. -#}\n"
        "with\n\n"
        "source as (\n"
        f"    {{{{ deduplicate_events(source('smartcity', '{contract.source}')) }}}}\n"
        "),\n\n"
        "renamed as (\n"
        "    select\n"
        f"{select}\n\n"
        "        {{ landing_metadata() }}\n"
        "    from source\n"
        ")\n\n"
        "select * from renamed\n"
    )


def render_landing_metadata() -> str:
    """The macros of the landing job's columns, from foundation/lake_tables.py: those every
    staging model carries through (landing_metadata), and the raw partition keys."""
    columns = landing_metadata()
    groups = {
        "timestamps": [c for c in columns if c.type == FieldType.TIMESTAMP],
        "lineage": [c for c in LANDING_COLUMNS if c.type != FieldType.TIMESTAMP],
        "partition": list(RAW_PARTITION_KEYS),
    }
    names = [
        f"\n        -- {group}\n" + ",\n".join(f"        {c.name}" for c in members)
        for group, members in groups.items()
    ]
    assert sum(len(m) for m in groups.values()) == len(columns)
    return (
        "{#- Generated from foundation/lake_tables.py by `smartcity dbt-sources --write`; do\n"
        "    not edit. The columns every staging model carries through from the landing job:\n"
        "    when the event happened, where in Kafka it came from, when it landed, and the raw\n"
        "    partition it lies in (for filters that prune).\n"
        "-#}\n"
        "{% macro landing_metadata() -%}" + ",\n".join(names) + "\n{%- endmacro %}\n\n"
        "{#- The raw tables' partition keys, in order (their date, then their hour). -#}\n"
        "{% macro raw_partition_keys() -%}\n"
        f"    {{{{ return({[c.name for c in RAW_PARTITION_KEYS]!r}) }}}}\n"
        "{%- endmacro %}\n"
    )


RENDERERS = {
    PROFILES_FILE: render_profiles,
    SOURCES_FILE: render_sources,
    STAGING_MODELS_FILE: render_staging_models,
    ENUMERATIONS_FILE: render_enumerations,
    LANDING_METADATA_FILE: render_landing_metadata,
    **{
        staging_model_file(contract): (lambda contract=contract: render_staging_sql(contract))
        for contract in CONTRACTS
    },
}


def stale_files() -> list[Path]:
    """Committed files that differ from what the schema renders."""
    return [path for path, render in RENDERERS.items() if path.read_text() != render()]


def write() -> list[Path]:
    for path, render in RENDERERS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())
    return list(RENDERERS)
