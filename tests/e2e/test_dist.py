"""The deployable set (`smartcity dist`) run from its own files alone: built from a
clone of the last commit, its wheel installed into a fresh virtual environment outside
the checkout, the landing job submitted with that environment's spark-submit and only
the files of dist/ to the standalone cluster the tests start, and dbt built from the
packaged project by the same environment. What it refuses to build, and a job submitted
without a jar it needs, fail in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from smartcity import pipeline
from smartcity.dbt import warehouse
from smartcity.dist.build import CHECKSUMS, CONSTRAINTS, DBT_PROJECT_ARCHIVE, DBT_PROJECT_FOLDER
from smartcity.dist.spark_jobs import EMR_PYTHON_ARCHIVE, EMR_SERVERLESS_JOB_RUN
from smartcity.jars import sha256_of
from smartcity.settings import PROJECT_ROOT, Settings
from tests.conftest import settings_for
from tests.e2e.cluster_backlog import (
    Backlog,
    assert_landed_exactly_once,
    assert_ran_on_cluster,
    completed_apps,
    produce_backlog,
)
from tests.local_spark_cluster import LocalSparkCluster
from tests.test_cli_errors import smartcity

pytestmark = pytest.mark.e2e

SUBMIT_TIMEOUT_S = 300
# What a machine without the checkout has: no variable of ours, no Python path.
PRIVATE = ("SMARTCITY_", "PYTHON", "VIRTUAL_ENV", "SPARK_", "PYSPARK_", "DBT_")


def run(command: list[str], log: Path, **options: object) -> subprocess.CompletedProcess[bytes]:
    with log.open("wb") as output:
        return subprocess.run(
            command, stdout=output, stderr=subprocess.STDOUT, check=False, **options
        )  # type: ignore[call-overload]


def outside_environment(venv: Path, **values: str) -> dict[str, str]:
    """The environment of a deployment machine: the deployed venv first on PATH, nothing
    of the checkout (no variable of ours, no entry of PATH inside it)."""
    path = [str(venv / "bin")] + [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not entry.startswith(str(PROJECT_ROOT))
    ]
    base = {k: v for k, v in os.environ.items() if not k.startswith(PRIVATE) and k != "PATH"}
    return {**base, "PATH": os.pathsep.join(path), **values}


def clone_with_packages(folder: Path) -> Path:
    """A clone of the last commit, with the installed dbt packages (ignored by git)."""
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(folder)], check=True)
    shutil.copytree(PROJECT_ROOT / "dbt_packages", folder / "dbt_packages", symlinks=False)
    return folder


def dist_environment(clone: Path, cache_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SMARTCITY_PROJECT_DIR": str(clone),
        "SMARTCITY_CACHE_DIR": str(cache_dir),
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist-build")
    clone = clone_with_packages(root / "clone")
    out = root / "dist"
    built = smartcity(
        "dist", "--out", str(out), "--artifacts-uri", "s3://artifacts/smartcity/v1",
        env=dist_environment(clone, Settings.from_env().cache_dir), cwd=clone,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def deployed_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel of dist/, pinned by dist/'s lock."""
    venv = tmp_path_factory.mktemp("deployed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (wheel,) = dist.glob("smartcity-*.whl")
    installed = run(
        [
            str(venv / "bin" / "python"),
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *(str(wheel), "-c", str(dist / CONSTRAINTS)),
        ],
        venv.parent / "pip.log",
        cwd=venv.parent,
        timeout=900,
    )
    assert installed.returncode == 0, (venv.parent / "pip.log").read_text()[-4000:]
    return venv


@dataclass(frozen=True)
class Landed:
    settings: Settings
    backlog: Backlog
    state: Path


@pytest.fixture(scope="module")
def landed_from_dist(
    dist: Path,
    deployed_venv: Path,
    spark_cluster: LocalSparkCluster,
    kafka_broker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Landed, set[str], Path]]:
    state = tmp_path_factory.mktemp("dist-landing")
    settings = settings_for(state / "data", kafka_broker, topic_prefix=f"dist{os.getpid()}")
    backlog = produce_backlog(settings)
    apps_before = completed_apps(spark_cluster)
    empty_cache = state / "empty-cache"
    env = outside_environment(
        deployed_venv,
        SPARK_MASTER=spark_cluster.master_url,
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=str(deployed_venv / "bin" / "python"),
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        SMARTCITY_TOPIC_PREFIX=settings.topic_prefix,
        SMARTCITY_DATA_DIR=str(state / "data"),
        # Nothing may be fetched or compiled: the jars come from dist/ alone.
        SMARTCITY_CACHE_DIR=str(empty_cache),
    )
    log = state / "spark-submit.log"
    result = run(["bash", str(dist / "spark-submit.sh")], log, env=env, cwd=state,
                 timeout=SUBMIT_TIMEOUT_S)  # fmt: skip
    assert result.returncode == 0, log.read_text()[-4000:]
    assert not empty_cache.exists() or not any(empty_cache.iterdir())
    yield Landed(settings, backlog, state), apps_before, log


def test_dist_holds_what_it_lists_and_nothing_from_outside(dist: Path) -> None:
    listed = dict(
        reversed(line.split("  ", 1)) for line in (dist / CHECKSUMS).read_text().splitlines()
    )
    on_disk = {path.relative_to(dist).as_posix() for path in dist.rglob("*") if path.is_file()} - {
        CHECKSUMS
    }
    assert set(listed) == on_disk
    for name, checksum in listed.items():
        assert sha256_of(dist / name) == checksum, name
    # The jars spark-submit names are exactly those in jars/, each with its checksum.
    script = (dist / "spark-submit.sh").read_text()
    jars = sorted(p.name for p in (dist / "jars").glob("*.jar"))
    assert [name for name in jars if f"$ARTIFACTS/jars/{name}" not in script] == []
    assert any(name.startswith("smartcity-landing-") for name in jars)
    assert any(name.startswith("spark-sql-kafka-0-10_2.13-") for name in jars)
    # The commit it was built from is the checkout's.
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    assert (dist / "COMMIT").read_text().strip() == head


def test_the_emr_serverless_job_run_is_accepted_and_names_files_of_dist(
    dist: Path, aws_env: str
) -> None:
    request = json.loads((dist / EMR_SERVERLESS_JOB_RUN).read_text())
    base = "s3://artifacts/smartcity/v1"
    driver = request["jobDriver"]["sparkSubmit"]
    named = [driver["entryPoint"]] + [
        uri
        for word in driver["sparkSubmitParameters"].replace("=", " ").replace(",", " ").split()
        for uri in [word.split("#")[0]]
        if uri.startswith("s3://")
    ]
    relative = {uri.removeprefix(base + "/") for uri in named}
    # Every file it names is a file of dist/ at the same place, but the Python archive,
    # which is built on EMR's own image (docs/operations.md).
    assert relative - {EMR_PYTHON_ARCHIVE} <= {
        path.relative_to(dist).as_posix() for path in dist.rglob("*") if path.is_file()
    }
    assert any(name.startswith("jars/smartcity-landing-") for name in relative)
    # The request as EMR Serverless's API takes it (botocore checks every field against
    # the API's model; moto's server records the run).
    client = boto3.client("emr-serverless")
    application = client.create_application(
        name="smartcity", releaseLabel="emr-7.9.0", type="SPARK"
    )
    role = boto3.client("iam").create_role(
        RoleName="landing",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    request.update(applicationId=application["applicationId"], executionRoleArn=role)
    started = client.start_job_run(**request)
    run_details = client.get_job_run(
        applicationId=application["applicationId"], jobRunId=started["jobRunId"]
    )
    assert run_details["jobRun"]["jobDriver"]["sparkSubmit"]["entryPoint"] == f"{base}/land.py"


def test_the_landing_job_lands_a_backlog_once_from_dist_alone(
    landed_from_dist: tuple[Landed, set[str], Path], spark_cluster: LocalSparkCluster
) -> None:
    landed, apps_before, log = landed_from_dist
    assert_landed_exactly_once(landed.settings, landed.backlog)
    assert_ran_on_cluster(spark_cluster, apps_before)
    # The driver ran the deployed environment's code, not the checkout's.
    assert str(PROJECT_ROOT) not in log.read_text()


def test_dbt_builds_from_the_packaged_project(
    dist: Path, deployed_venv: Path, landed_from_dist: tuple[Landed, set[str], Path]
) -> None:
    landed = landed_from_dist[0]
    with tarfile.open(dist / DBT_PROJECT_ARCHIVE) as archive:
        archive.extractall(landed.state, filter="data")
    project = landed.state / DBT_PROJECT_FOLDER
    env = outside_environment(
        deployed_venv,
        SMARTCITY_PROJECT_DIR=str(project),
        SMARTCITY_DATA_DIR=str(landed.state / "data"),
        SMARTCITY_CACHE_DIR=str(landed.state / "empty-cache"),
    )
    log = landed.state / "dbt-build.log"
    built = run([str(deployed_venv / "bin" / "smartcity"), "dbt", "build"], log, env=env,
                cwd=landed.state, timeout=900)  # fmt: skip
    assert built.returncode == 0, log.read_text()[-4000:]
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    # Models and seeds succeed, tests pass; the on-run-end hook is a no-op.
    assert results
    assert [
        r["unique_id"] for r in results if r["status"] not in ("success", "pass", "no-op")
    ] == []
    # Each source's staging model holds that source's events of the backlog, once.
    expected = Counter(contract.source for contract, _ in landed.backlog.events)
    with warehouse.connect(landed.settings.duckdb_path) as connection:
        for source, count in expected.items():
            (schema,) = connection.execute(
                "select table_schema from information_schema.tables where table_name = ?",
                [f"stg_smartcity__{source}"],
            ).fetchone()  # type: ignore[misc]
            rows = connection.execute(
                f'select count(*) from "{schema}"."stg_smartcity__{source}"'
            ).fetchone()
            assert rows == (count,), source


def test_a_job_without_a_jar_it_needs_stops_before_reading_kafka(
    dist: Path, deployed_venv: Path, kafka_broker, tmp_path: Path
) -> None:
    jars = [p for p in (dist / "jars").glob("*.jar") if not p.name.startswith("kafka-clients-")]
    settings = settings_for(tmp_path / "data", kafka_broker, topic_prefix=f"nojar{os.getpid()}")
    pipeline.create_topics(settings)
    env = outside_environment(
        deployed_venv,
        PYSPARK_PYTHON=str(deployed_venv / "bin" / "python"),
        KAFKA_BOOTSTRAP_SERVERS=kafka_broker.bootstrap_servers,
        SMARTCITY_TOPIC_PREFIX=settings.topic_prefix,
        SMARTCITY_DATA_DIR=str(tmp_path / "data"),
    )
    command = [
        str(deployed_venv / "bin" / "spark-submit"),
        *("--master", "local[1]", "--jars", ",".join(map(str, jars))),
        str(dist / "land.py"),
    ]
    log = tmp_path / "submit.log"
    result = run(command, log, env=env, cwd=tmp_path, timeout=SUBMIT_TIMEOUT_S)
    output = log.read_text()
    assert result.returncode != 0, output[-3000:]
    assert (
        "error: The landing job cannot start: its classpath lacks org.apache.kafka:kafka-clients:3.9.2"
        in output
    )
    assert "Traceback" not in output
    # No query started: no offsets in any checkpoint, no batch in the metrics, no table.
    assert list((tmp_path / "data").rglob("offsets")) == []
    assert not (settings.metrics_dir / "landing.jsonl").exists()
    assert list((tmp_path / "data").rglob("*.parquet")) == []


def test_dist_refuses_uncommitted_changes_and_unverified_jars(tmp_path: Path) -> None:
    clone = clone_with_packages(tmp_path / "clone")
    out = tmp_path / "dist"
    cache = Settings.from_env().cache_dir
    (clone / "README.md").write_text("changed\n")
    dirty = smartcity("dist", "--out", str(out), env=dist_environment(clone, cache), cwd=clone)
    assert dirty.returncode == 1
    assert dirty.stderr.strip().splitlines() == [
        "error: 1 file(s) differ from the last commit (first: README.md): commit or stash "
        "them, so that dist/ is exactly a commit; nothing was built"
    ]
    subprocess.run(["git", "checkout", "--quiet", "README.md"], cwd=clone, check=True)
    empty = tmp_path / "empty-cache"
    no_jars = smartcity("dist", "--out", str(out), env=dist_environment(clone, empty), cwd=clone)
    assert no_jars.returncode == 1
    (line,) = no_jars.stderr.strip().splitlines()
    assert line.startswith("error: the spark-kafka jars are not in ")
    assert line.endswith("nothing was built")
    assert not out.exists() and list(tmp_path.glob(".*.partial")) == []
    # A destination whose replacement would lose something: the project, a folder that is
    # not an earlier build, a folder of the checkout that git would then see as a change.
    cache_env = dist_environment(clone, cache)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine\n")
    for destination, says in (
        (clone, "holds the project itself"),
        (tmp_path / "notes", "is not an earlier build"),
        (clone / "docs" / "out", "not ignored by git"),
    ):
        refused = smartcity("dist", "--out", str(destination), env=cache_env, cwd=clone)
        assert refused.returncode == 1, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert says in line
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine\n"
    assert (clone / "README.md").exists() and not (clone / "docs" / "out").exists()


def test_a_rebuild_replaces_the_earlier_build_whole(dist: Path) -> None:
    clone = dist.parent / "clone"
    (dist / "stale-file").write_text("from an older build\n")
    rebuilt = smartcity("dist", "--out", str(dist), "--artifacts-uri", "s3://artifacts/smartcity/v1",
                        env=dist_environment(clone, Settings.from_env().cache_dir), cwd=clone)  # fmt: skip
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not (dist / "stale-file").exists()
    assert (dist / "COMMIT").is_file()
    assert sorted(p.name for p in dist.parent.iterdir() if p.name.startswith(".")) == []


def test_the_default_folder_is_dist_of_the_checkout_which_git_ignores(dist: Path) -> None:
    clone = dist.parent / "clone"
    default = clone / "dist"
    assert not default.exists()
    built = smartcity("dist", env=dist_environment(clone, Settings.from_env().cache_dir), cwd=clone)
    assert built.returncode == 0, built.stderr
    assert (default / "COMMIT").is_file()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert status.stdout == ""
