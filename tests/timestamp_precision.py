"""The marts' timestamp columns, as their contracts declare them: the columns whose
precision the engines' tests pin to the microsecond, the raw zone's own."""

from __future__ import annotations

import yaml

from smartcity.settings import PROJECT_ROOT

MARTS = PROJECT_ROOT / "dbt_project" / "models" / "marts"


def mart_timestamp_columns() -> dict[str, list[str]]:
    """Each mart with timestamp columns in its contract, and those columns."""
    found: dict[str, list[str]] = {}
    for path in sorted(MARTS.rglob("_*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            columns = [
                column["name"]
                for column in model.get("columns", [])
                if str(column.get("data_type", "")).startswith("timestamp")
            ]
            if columns:
                found[model["name"]] = columns
    return found
