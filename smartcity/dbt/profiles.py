"""The dbt profiles' defaults, written from the project's one registry of variables.

profiles.yml reads each setting with ``env_var('NAME', 'default')``; the default is the
one foundation/environment.py declares, written in by `smartcity dbt-sources --write`
and checked like the generated sources, so that dbt run by hand and every Python client
agree on what an unset variable means (the AWS region among them).
"""

from __future__ import annotations

import re

from foundation.environment import VARIABLES
from smartcity.settings import PROJECT_ROOT

PROFILES_FILE = PROJECT_ROOT / "profiles.yml"
# env_var('NAME', 'literal default'): the calls whose default the registry declares.
ENV_VAR_WITH_DEFAULT = re.compile(r"env_var\('(?P<name>[A-Z0-9_]+)', '(?P<default>[^']*)'\)")
# Read where their first choice is unset, with its default (AWS's own fallback).
FALLBACKS = {"AWS_DEFAULT_REGION": "AWS_REGION"}


def declared_default(name: str) -> str | None:
    variable = VARIABLES.get(FALLBACKS.get(name, name))
    return None if variable is None else variable.default


def render_profiles() -> str:
    """profiles.yml with each literal default replaced by the declared one."""

    def declared(match: re.Match[str]) -> str:
        default = declared_default(match["name"])
        if default is None:
            return match[0]
        return f"env_var('{match['name']}', '{default}')"

    return ENV_VAR_WITH_DEFAULT.sub(declared, PROFILES_FILE.read_text())


def variables_read() -> set[str]:
    """Every variable profiles.yml reads."""
    return set(re.findall(r"env_var\('([A-Z0-9_]+)'", PROFILES_FILE.read_text()))
