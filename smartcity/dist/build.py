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
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from smartcity.dist import spark_jobs
from smartcity.dist.checkout import DistRefused, export_commit, require_clean
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


def _dbt_project(tree: Path, packages: Path, out: Path) -> Path:
    """The commit's dbt project and the checkout's installed packages, under one folder."""
    if not any(packages.glob("*/dbt_project.yml")):
        raise DistRefused(
            f"no dbt packages in {packages}: run `smartcity dbt-packages` (or `make setup`) "
            "first, so that the archive runs without the package hub; nothing was built"
        )
    archive = out / DBT_PROJECT_ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for name in DBT_PROJECT_FILES:
            tar.add(tree / name, f"{DBT_PROJECT_FOLDER}/{name}")
        tar.add(packages, f"{DBT_PROJECT_FOLDER}/dbt_packages")
    return archive


def _jars(
    tree: Path, cache_dir: Path, connector_jars: list[Path], s3_jars: list[Path], out: Path
) -> list[str]:
    """jars/: the connector's jars and the landing job's own, compiled from the commit,
    with their checksums and coordinates; the names spark-submit is given."""
    from streaming.jvm_build import landing_jar

    jars = out / "jars"
    jars.mkdir()
    own_jar = landing_jar(cache_dir, tree / "streaming" / "jvm" / "src")
    for jar in [*connector_jars, own_jar, *s3_jars]:
        shutil.copy2(jar, jars / jar.name)
    names = sorted(jar.name for jar in jars.glob("*.jar"))
    _write(jars / CHECKSUMS, "".join(f"{sha256_of(jars / name)}  {name}\n" for name in names))
    _write(
        jars / "COORDINATES",
        "".join(
            f"{coordinate}  # {jar_set.name}\n"
            for jar_set in (SPARK_KAFKA, SPARK_S3)
            for coordinate in coordinates(jar_set)
        ),
    )
    return names


def _check_destination(project: Path, out: Path) -> None:
    """Refuse a destination whose replacement would lose something: one that holds the
    project, an existing folder that is not an earlier build, or a folder inside the
    checkout that git does not ignore (the next build would find the checkout changed)."""
    if project.is_relative_to(out):
        raise DistRefused(f"--out {out} holds the project itself: choose another folder")
    if out.exists() and not ((out / "COMMIT").is_file() and (out / CHECKSUMS).is_file()):
        raise DistRefused(
            f"{out} exists and is not an earlier build of `smartcity dist`: choose another "
            "--out, or remove it yourself; nothing was built"
        )
    if out.is_relative_to(project):
        ignored = subprocess.run(
            # A file in it: git cannot tell that a folder not made yet matches `/dist/`.
            ["git", "check-ignore", "--quiet", str(out / CHECKSUMS)],
            cwd=project,
            check=False,
        )
        if ignored.returncode != 0:
            raise DistRefused(
                f"{out} is inside the checkout and not ignored by git: use dist/ or a folder "
                "outside it; nothing was built"
            )


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
    commit = require_clean(project)
    try:
        connector_jars = verified_jars(SPARK_KAFKA, cache_dir)
        s3_jars = verified_jars(SPARK_S3, cache_dir) if with_s3 else []
    except JarError as error:
        raise DistRefused(f"{error}; nothing was built") from None
    out = out.resolve()
    _check_destination(project, out)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with tempfile.TemporaryDirectory(prefix="smartcity-dist-") as scratch:
            tree = export_commit(project, commit, Path(scratch) / "tree")
            say("building the wheel")
            _wheel(tree, staging)
            say("compiling the landing job's jar")
            names = _jars(tree, cache_dir, connector_jars, s3_jars, staging)
            say("writing the spark-submit and EMR Serverless job definitions")
            _write(staging / spark_jobs.ENTRY_POINT, spark_jobs.ENTRY_POINT_SOURCE)
            _write(
                staging / spark_jobs.SPARK_SUBMIT,
                spark_jobs.spark_submit_script(names),
                executable=True,
            )
            # EMR brings its own S3 connector: the S3A jars stay out of its job run.
            s3_names = {jar.name for jar in s3_jars}
            _write(
                staging / spark_jobs.EMR_SERVERLESS_JOB_RUN,
                spark_jobs.emr_serverless_job_run(
                    artifacts_uri, [name for name in names if name not in s3_names], settings
                ),
            )
            # The lock: `pip install <wheel> -c constraints.txt` gets the tested versions.
            shutil.copy2(tree / "requirements.txt", staging / CONSTRAINTS)
            say("archiving the dbt project with its packages")
            _dbt_project(tree, project / "dbt_packages", staging)
            for name in MWAA_FILES:
                target = staging / "mwaa" / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(tree / "orchestration" / "mwaa" / name, target)
        _write(staging / "COMMIT", commit + "\n")
        files = sorted(path for path in staging.rglob("*") if path.is_file())
        manifest = "".join(
            f"{sha256_of(path)}  {path.relative_to(staging).as_posix()}\n" for path in files
        )
        _write(staging / CHECKSUMS, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, out)
    return Built(out, commit, sorted(path for path in out.rglob("*") if path.is_file()))


def _swap_in(staging: Path, out: Path) -> None:
    """Put the new build in ``out`` by renames: the earlier one moves aside first, so
    ``out`` is always one whole build (or, for an instant, absent), never half of one."""
    previous = out.with_name(f".{out.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out.exists():
        os.replace(out, previous)
    os.replace(staging, out)
    shutil.rmtree(previous, ignore_errors=True)
