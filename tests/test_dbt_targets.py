"""The dbt profile's targets as dbt renders them: each developer's own schemas on the
shared warehouse, so that two people building at once never write over each other."""

from __future__ import annotations

import os
from argparse import Namespace
from collections.abc import Mapping

import pytest
import yaml
from dbt.config.profile import Profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

from smartcity.settings import PROJECT_ROOT

WAREHOUSE = {
    "SMARTCITY_ATHENA_STAGING_DIR": "s3://results/athena/",
    "SMARTCITY_ATHENA_DATA_DIR": "s3://warehouse/tables/",
    "SMARTCITY_REDSHIFT_HOST": "warehouse.example.internal",
}


def credentials(target: str, environ: Mapping[str, str]) -> dict:
    """The target's connection settings, rendered by dbt's own profile code."""
    set_from_args(Namespace(), None)
    set_invocation_context(dict(environ))
    raw = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())
    profile = Profile.from_raw_profile_info(
        raw["smartcity"], "smartcity", ProfileRenderer({}), target_override=target
    )
    return profile.credentials.to_dict()


def environment(**settings: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SMARTCITY_", "USER"))}
    return {**kept, **WAREHOUSE, **settings}


@pytest.mark.parametrize("shared", ["athena", "redshift"])
def test_each_developer_builds_in_schemas_of_their_own(shared: str) -> None:
    alice = credentials(f"{shared}_dev", environment(USER="alice"))
    bob = credentials(f"{shared}_dev", environment(USER="Bob.Jones-2"))
    production = credentials(shared, environment(USER="alice"))
    assert alice["schema"] == "dev_alice"
    # Lower case, and no character a schema name would need quoted for.
    assert bob["schema"] == "dev_bob_jones_2"
    assert production["schema"] == "smartcity_analytics"
    # The same warehouse in every other respect.
    assert {k: v for k, v in alice.items() if k != "schema"} == {
        k: v for k, v in production.items() if k != "schema"
    }


def test_a_developer_schema_can_be_named() -> None:
    named = credentials("athena_dev", environment(USER="alice", SMARTCITY_DEV_SCHEMA="dev_spike"))
    assert named["schema"] == "dev_spike"
