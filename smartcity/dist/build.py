"""Building the deployable set into one folder, whole or not at all.

The set is built in a folder beside the destination and renamed into place at the end,
so a failed build leaves the previous one (or nothing), never half of one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from smartcity.dist import spark_jobs
from smartcity.dist.checkout import DistRefused, committed_files, require_clean
from smartcity.jars import SPARK_KAFKA, SPARK_S3, JarError, coordinates, sha256_of, verified_jars

# The dbt project as MWAA, a CI runner or a laptop without the repository runs it.
DBT_PROJECT_FILES = (
    "dbt_project.yml",
    "profiles.yml",
    "packages.yml",
    "package-lock.yml",
    "selectors.yml",
    "dbt_project",
    "macros",
    "seeds",
    "tests/dbt",
)
DBT_PROJECT_ARCHIVE = "dbt-project.tar.gz"
DBT_PROJECT_FOLDER = "smartcity-dbt"
# What Amazon MWAA is deployed with (orchestration/mwaa/README.md).
MWAA_FILES = ("requirements.txt", "startup.sh", "dags/smartcity_hourly.py", "dags/.airflowignore")
CHECKSUMS = "SHA256SUMS"
CONSTRAINTS = "constraints.txt"


@dataclass(frozen=True)
class Built:
    folder: Path
    commit: str
    files: list[Path]


def _wheel(project: Path, out: Path) -> Path:
    """The project's wheel, built from the checkout with the pinned setuptools (no build
    isolation, which would fetch a build backend)."""
    built = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"),
            *("--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(project)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise DistRefused(f"building the wheel failed:\n{built.stdout}{built.stderr}".rstrip())
    (wheel,) = out.glob("smartcity-*.whl")
    return wheel


def _dbt_project(project: Path, out: Path) -> Path:
    """The committed dbt project and its installed packages, under one top folder."""
    packages = project / "dbt_packages"
    if not any(packages.glob("*/dbt_project.yml")):
        raise DistRefused(
            f"no dbt packages in {packages}: run `smartcity dbt-packages` (or `make setup`) "
            "first, so that the archive runs without the package hub"
        )
    archive = out / DBT_PROJECT_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for name in committed_files(project, *DBT_PROJECT_FILES):
            tar.add(project / name, f"{DBT_PROJECT_FOLDER}/{name}", recursive=False)
        tar.add(packages, f"{DBT_PROJECT_FOLDER}/dbt_packages")
    return archive


def _write(path: Path, text: str, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(0o755)
    return path


def build(
    project: Path,
    cache_dir: Path,
    out: Path,
    artifacts_uri: str,
    settings: Mapping[str, str],
    with_s3: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> Built:
    """Build the deployable set of ``project`` into ``out``; raise :class:`DistRefused`
    (nothing built) from a checkout with uncommitted changes or without verified jars."""
    from streaming.jvm_build import landing_jar

    commit = require_clean(project)
    try:
        connector_jars = verified_jars(SPARK_KAFKA, cache_dir)
        s3_jars = verified_jars(SPARK_S3, cache_dir) if with_s3 else []
    except JarError as error:
        raise DistRefused(f"{error}; nothing was built") from None
    out = out.resolve()
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        say("building the wheel")
        _wheel(project, staging)
        say("compiling the landing job's jar")
        jars = staging / "jars"
        jars.mkdir()
        # The committed sources of the checkout, not those of the running package.
        own_jar = landing_jar(cache_dir, project / "streaming" / "jvm" / "src")
        for jar in [*connector_jars, own_jar, *s3_jars]:
            shutil.copy2(jar, jars / jar.name)
        names = sorted(jar.name for jar in jars.glob("*.jar"))
        _write(jars / CHECKSUMS, "".join(f"{sha256_of(jars / n)}  {n}\n" for n in names))
        coordinates_text = "".join(
            f"{coordinate}  # {jar_set.name}\n"
            for jar_set in (SPARK_KAFKA, SPARK_S3)
            for coordinate in coordinates(jar_set)
        )
        _write(jars / "COORDINATES", coordinates_text)
        say("writing the spark-submit and EMR Serverless job definitions")
        _write(staging / spark_jobs.ENTRY_POINT, spark_jobs.ENTRY_POINT_SOURCE)
        _write(
            staging / spark_jobs.SPARK_SUBMIT,
            spark_jobs.spark_submit_script(names),
            executable=True,
        )
        _write(
            staging / spark_jobs.EMR_SERVERLESS_JOB_RUN,
            spark_jobs.emr_serverless_job_run(artifacts_uri, names, settings),
        )
        # The lock: `pip install <wheel> -c constraints.txt` gets the tested versions.
        shutil.copy2(project / "requirements.txt", staging / CONSTRAINTS)
        say("archiving the dbt project with its packages")
        _dbt_project(project, staging)
        for name in MWAA_FILES:
            target = staging / "mwaa" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / "orchestration" / "mwaa" / name, target)
        _write(staging / "COMMIT", commit + "\n")
        files = sorted(path for path in staging.rglob("*") if path.is_file())
        manifest = "".join(
            f"{sha256_of(path)}  {path.relative_to(staging).as_posix()}\n" for path in files
        )
        _write(staging / CHECKSUMS, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return Built(out, commit, sorted(path for path in out.rglob("*") if path.is_file()))
