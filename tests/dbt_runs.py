"""dbt runs of the tests, each kind of run in a target folder of its own.

dbt keeps what it parsed in ``<target-path>/partial_parse.msgpack`` and parses every
file again, ignoring it, when a run's ``--target``, ``--vars`` or the connection values
of its profile (the DuckDB file, the Trino schema) differ from the last run's there:
about 8 s of a 10 s run on two cores. The suites alternate engines, databases and
variables run by run; in one folder per kind of run, each kind parses in full once and
then only what changed. What dbt runs is the same; only where it keeps its artifacts
(target/) moves: beside the run's DuckDB file, under the test's own temporary folder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from smartcity import pipeline
from smartcity.dbt import preflight
from smartcity.settings import Settings

# What the profiles read besides the target: the settings' variables (profiles.yml).
PROFILE_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def _option(arguments: Sequence[str], name: str) -> str:
    """The value of ``--name value`` in dbt's arguments; empty if not given."""
    for index, argument in enumerate(arguments[:-1]):
        if argument == name:
            return arguments[index + 1]
    return ""


def target_path_for(
    settings: Settings, arguments: Sequence[str], environment: Mapping[str, str]
) -> Path | None:
    """The target folder of this kind of run; None for a run that names its own."""
    if "--target-path" in arguments or "DBT_TARGET_PATH" in environment:
        return None
    effective = {**pipeline.child_environment(settings), **environment}
    target = preflight.dbt_target(arguments, effective)
    profile = sorted(
        (name, value)
        for name, value in effective.items()
        if name.startswith("SMARTCITY_") or name in PROFILE_VARIABLES
    )
    kind = repr((target, _option(arguments, "--vars"), profile))
    digest = hashlib.sha1(kind.encode()).hexdigest()[:12]
    return settings.duckdb_path.parent / "dbt-targets" / f"{target}-{digest}"


def run_dbt(
    settings: Settings, *arguments: str, environment: Mapping[str, str] | None = None
) -> str:
    """:func:`smartcity.pipeline.run_dbt`, in the target folder of its kind of run."""
    environment = dict(environment or {})
    folder = target_path_for(settings, arguments, environment)
    if folder is not None:
        environment["DBT_TARGET_PATH"] = str(folder)
    return pipeline.run_dbt(settings, *arguments, environment=environment)
