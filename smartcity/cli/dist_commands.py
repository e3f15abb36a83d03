"""`smartcity dist`: the deployable set, built into one folder."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import click

from smartcity.cli.options import command, variable_option
from smartcity.console import say
from smartcity.dist.spark_jobs import EMR_DRIVER_SETTINGS
from smartcity.settings import PROJECT_ROOT, Settings


def dist(args: SimpleNamespace, settings: Settings) -> int:
    from smartcity.dist.build import build

    out = PROJECT_ROOT / args.out  # an absolute --out stands as given
    built = build(
        PROJECT_ROOT,
        settings.cache_dir,
        out,
        artifacts_uri=args.artifacts_uri,
        settings={name: os.environ[name] for name in EMR_DRIVER_SETTINGS if name in os.environ},
        with_s3=args.with_s3,
        say=lambda step: say(f"==> {step}"),
    )
    say(f"{len(built.files)} files of commit {built.commit[:12]} in {built.folder}")
    say(f"upload: aws s3 sync {built.folder} {args.artifacts_uri}")
    return 0


COMMANDS = (
    command(
        "dist",
        "build the deployable set: the wheel, the jars, spark-submit and EMR job files",
        "Build into one folder, from the last commit and the jars set-up verified (nothing "
        "is downloaded): the project's wheel; jars/ with the Kafka connector, the landing "
        "job's own jar, their SHA-256 (SHA256SUMS) and Maven coordinates; land.py and "
        "spark-submit.sh, which submit the landing job from these files alone; an EMR "
        "Serverless job run (JSON) naming them at --artifacts-uri; the dbt project with its "
        "packages (dbt-project.tar.gz); and what MWAA is deployed with (mwaa/). Refuses, "
        "building nothing, a checkout with uncommitted changes or without verified jars.",
        dist,
        (
            click.Option(
                ["--out"],
                type=click.Path(file_okay=False, path_type=Path),
                default=Path("dist"),
                help="the folder to build into (relative: to the project)",
            ),
            variable_option(
                "--artifacts-uri",
                variable="SMARTCITY_ARTIFACTS_URI",
                help="where the folder is uploaded, for the EMR Serverless job run",
            ),
            click.Option(
                ["--with-s3"],
                is_flag=True,
                help="also copy the S3A connector and AWS SDK jars (about 700 MB; EMR has its own)",
            ),
        ),
    ),
)
