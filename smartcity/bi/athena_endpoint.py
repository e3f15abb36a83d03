"""Where BI reaches the marts on Athena: the settings of profiles.yml's `athena` target,
read from the same environment variables with the same defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foundation.environment import aws_region
from smartcity.dbt.warehouse import layer_schema
from smartcity.settings import setting

# Athena's endpoint answers HTTPS only.
PORT = 443
# The Glue catalog the target builds in (profiles.yml: `database: awsdatacatalog`).
CATALOG = "awsdatacatalog"


class AthenaSettingMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class AthenaEndpoint:
    region: str
    staging_dir: str
    work_group: str
    # The Glue database of the marts: the target's schema with `_marts` after it.
    schema: str

    @property
    def server(self) -> str:
        return f"athena.{self.region}.amazonaws.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AthenaEndpoint:
        staging_dir = env.get("SMARTCITY_ATHENA_STAGING_DIR", "")
        if not staging_dir.startswith("s3://"):
            found = f"is {staging_dir!r}" if staging_dir else "is not set"
            raise AthenaSettingMissing(
                f"SMARTCITY_ATHENA_STAGING_DIR {found}: set it to the s3:// folder of Athena's "
                "query results, as for `dbt build --target athena` (`smartcity aws-stack "
                "exports` prints it)"
            )
        return cls(
            region=aws_region(env),
            staging_dir=staging_dir,
            work_group=setting(env, "SMARTCITY_ATHENA_WORK_GROUP"),
            schema=layer_schema("marts", setting(env, "SMARTCITY_ATHENA_SCHEMA")),
        )
