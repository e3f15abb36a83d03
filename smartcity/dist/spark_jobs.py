"""How the landing job is submitted from the deployable set: its entry point, a
spark-submit command line, and an EMR Serverless job run, each naming only files of the
set, by their place in it (a local folder, or its copy on S3)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

# spark-submit's primary resource: the `smartcity land` of the installed wheel.
ENTRY_POINT = "land.py"
ENTRY_POINT_SOURCE = '''"""spark-submit's entry point for the landing job: `smartcity land` of the installed
smartcity wheel, its arguments passed on (built by `smartcity dist`)."""

import sys

from smartcity.cli import main

raise SystemExit(main(["land", *sys.argv[1:]]))
'''
SPARK_SUBMIT = "spark-submit.sh"
EMR_SERVERLESS_JOB_RUN = "emr-serverless-job-run.json"
# The Python environment EMR Serverless runs the driver in (docs/operations.md): a
# packed virtual environment with the wheel installed, built on EMR's own image.
EMR_PYTHON_ARCHIVE = "smartcity-python.tar.gz"
# What the job reads from its environment on EMR, passed to the driver by name.
EMR_DRIVER_SETTINGS = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "SMARTCITY_TOPIC_PREFIX",
    "SMARTCITY_LAKE_URI",
    "SMARTCITY_CHECKPOINT_URI",
    "SMARTCITY_GLUE_DATABASE",
    "AWS_REGION",
)


def spark_submit_script(jars: Sequence[str]) -> str:
    """A shell script that submits the landing job with the jars of this folder; its
    arguments go to `smartcity land` (`--trigger "1 minute"`)."""
    listed = ",".join(f"$ARTIFACTS/jars/{name}" for name in jars)
    return f"""#!/usr/bin/env bash
# Submit the landing job from the files of this folder alone (built by `smartcity dist`).
# Run it where the smartcity wheel of this folder is installed (its spark-submit, its
# Python), with the settings in the environment (`smartcity aws-stack exports`).
#   SPARK_MASTER   spark-submit's --master (default yarn; spark://host:7077 for a
#                  standalone cluster); the job takes it, not SMARTCITY_SPARK_MASTER
#   ARTIFACTS      where this folder is (default: here; s3://bucket/prefix on EMR)
# Arguments go to `smartcity land`, e.g.:  bash spark-submit.sh --trigger "1 minute"
set -euo pipefail
here=$(CDPATH= cd -- "$(dirname -- "${{BASH_SOURCE[0]}}")" >/dev/null && pwd)
ARTIFACTS=${{ARTIFACTS:-$here}}
exec spark-submit \\
  --master "${{SPARK_MASTER:-yarn}}" \\
  --deploy-mode client \\
  --name smartcity-landing \\
  --jars "{listed}" \\
  "$ARTIFACTS/{ENTRY_POINT}" "$@"
"""


def emr_serverless_job_run(
    artifacts_uri: str, jars: Sequence[str], settings: Mapping[str, str]
) -> str:
    """The StartJobRun request (JSON) for EMR Serverless: ``aws emr-serverless
    start-job-run --cli-input-json file://...`` once the application id and the job role
    are filled in."""
    base = artifacts_uri.rstrip("/")
    python = "./environment/bin/python"
    parameters = [
        f"--jars {','.join(f'{base}/jars/{name}' for name in jars)}",
        f"--conf spark.archives={base}/{EMR_PYTHON_ARCHIVE}#environment",
        f"--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON={python}",
        f"--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON={python}",
        f"--conf spark.executorEnv.PYSPARK_PYTHON={python}",
        *(
            f"--conf spark.emr-serverless.driverEnv.{name}={settings[name]}"
            for name in EMR_DRIVER_SETTINGS
            if settings.get(name)
        ),
    ]
    request = {
        "applicationId": "<EMR Serverless application id (Spark 4.2, Scala 2.13)>",
        "executionRoleArn": "<the stack's landing role ARN (output SmartcityLandingRoleArn)>",
        "name": "smartcity-landing",
        # A streaming job runs until stopped; a batch run is cancelled after 12 hours.
        "mode": "STREAMING",
        # Restarted after a failure (it carries on from its checkpoints), but not in a loop.
        "retryPolicy": {"maxFailedAttemptsPerHour": 5},
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": f"{base}/{ENTRY_POINT}",
                "entryPointArguments": ["--trigger", "1 minute"],
                "sparkSubmitParameters": " ".join(parameters),
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": f"{base}/logs/"}
            }
        },
    }
    return json.dumps(request, indent=2) + "\n"
