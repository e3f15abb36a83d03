"""Jars from Maven Central: fetched once with Maven, checked, then used offline.

Each jar set is a small POM under ``smartcity/jar_sets/<name>/`` plus a ``jars.sha256`` lock
that lists every jar the set must contain with its SHA-256. A set may hold another kind
of Maven artifact instead (the Trino server is one ``tar.gz``), locked the same way. A
set is resolved into the cache the first time it is needed; afterwards the cache is only
verified against the lock, so later runs never touch the network.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

# Package data, so that an installed wheel lands without a checkout beside it.
JARS_ROOT = Path(__file__).resolve().parent / "jar_sets"
# Named in full so that Maven never looks up which plugin version is newest.
COPY_DEPENDENCIES = "org.apache.maven.plugins:maven-dependency-plugin:3.11.0:copy-dependencies"


class JarError(RuntimeError):
    """A jar set could not be fetched or does not match its lock."""


@dataclass(frozen=True)
class JarSet:
    name: str
    # Whether Maven copies the POM's dependencies' own dependencies too.
    transitive: bool
    # Which files of the resolved set the lock covers and callers get back.
    artifacts: str = "*.jar"
    # What a maintainer runs to rewrite the lock after changing a version in the POM.
    update_command: str = "smartcity jars --update-lock"

    @property
    def pom(self) -> Path:
        return JARS_ROOT / self.name / "pom.xml"

    @property
    def lock(self) -> Path:
        return JARS_ROOT / self.name / "jars.sha256"


KAFKA_BROKER = JarSet("kafka-broker", transitive=True)
SPARK_KAFKA = JarSet("spark-kafka", transitive=False)
# SQLite's JDBC driver, for Trino's reads of the local Iceberg catalog.
SQLITE_JDBC = JarSet(
    "sqlite-jdbc", transitive=False, update_command="smartcity trino fetch --update-lock"
)
# hadoop-aws and the AWS SDK bundle (about 700 MB): fetched on first use of an s3:// lake.
SPARK_S3 = JarSet("spark-s3", transitive=True)
# The Trino server tarball (about 820 MB), for the tests of the `trino` dbt target.
TRINO_SERVER = JarSet(
    "trino-server",
    transitive=False,
    artifacts="*.tar.gz",
    update_command="smartcity trino fetch --update-lock",
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(jar_set: JarSet) -> dict[str, str]:
    if not jar_set.lock.exists():
        return {}
    entries = {}
    for line in jar_set.lock.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            checksum, name = line.split()
            entries[name] = checksum
    return entries


def _digests(directory: Path, artifacts: str = "*.jar") -> dict[str, str]:
    return {jar.name: sha256_of(jar) for jar in sorted(directory.glob(artifacts))}


def _mismatches(found: dict[str, str], expected: dict[str, str]) -> list[str]:
    problems = [f"missing {name}" for name in sorted(set(expected) - set(found))]
    problems += [f"unexpected {name}" for name in sorted(set(found) - set(expected))]
    problems += [
        f"{name} has SHA-256 {found[name]}, lock says {expected[name]}"
        for name in sorted(set(found) & set(expected))
        if found[name] != expected[name]
    ]
    return problems


def cache_directory(jar_set: JarSet, cache_dir: Path) -> Path:
    # Keyed by the POM's content, so a version bump never reuses stale jars.
    pom_digest = hashlib.sha256(jar_set.pom.read_bytes()).hexdigest()[:12]
    return cache_dir / "jars" / f"{jar_set.name}-{pom_digest}"


def _run_maven(jar_set: JarSet, output: Path) -> None:
    maven = shutil.which("mvn")
    if maven is None:
        raise JarError(
            f"Maven (mvn) is needed once to fetch the {jar_set.name} jars: "
            "install it (apt-get install maven) and run the command again."
        )
    command = [
        maven,
        "--batch-mode",
        "--quiet",
        "--strict-checksums",
        "-f",
        str(jar_set.pom),
        COPY_DEPENDENCIES,
        "-DincludeScope=runtime",
        f"-DexcludeTransitive={'false' if jar_set.transitive else 'true'}",
        f"-DoutputDirectory={output}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise JarError(f"Maven could not fetch the {jar_set.name} jars:\n{tail}")


def verified_jars(jar_set: JarSet, cache_dir: Path) -> list[Path]:
    """The set's jars already in the cache, checked against the lock; never fetches.
    Raises :class:`JarError` saying what to run when they are missing or differ."""
    target = cache_directory(jar_set, cache_dir.resolve())
    if not target.is_dir():
        raise JarError(
            f"the {jar_set.name} jars are not in {cache_dir}: fetch and verify them first "
            f"(`smartcity jars{' --with-s3' if jar_set is SPARK_S3 else ''}`, or `make setup`)"
        )
    problems = _mismatches(_digests(target, jar_set.artifacts), read_lock(jar_set))
    if problems:
        raise JarError(
            f"the {jar_set.name} jars in {target} do not match {jar_set.lock} "
            f"({'; '.join(problems)}): delete that folder and run `smartcity jars` again"
        )
    return sorted(target.glob(jar_set.artifacts))


def ensure_jars(jar_set: JarSet, cache_dir: Path, update_lock: bool = False) -> list[Path]:
    """Return the set's jars, fetching them first if the cache does not have them.

    ``update_lock`` rewrites the lock from what Maven resolved: for maintainers who
    change a version in the POM, never for users.
    """
    target = cache_directory(jar_set, cache_dir.resolve())
    expected = read_lock(jar_set)
    if target.is_dir() and not update_lock:
        problems = _mismatches(_digests(target, jar_set.artifacts), expected)
        if not problems:
            return sorted(target.glob(jar_set.artifacts))
        shutil.rmtree(target)  # damaged or partial: fetch again
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        # Absolute, because Maven resolves a relative output directory against the POM.
        staging_dir = Path(staging).resolve()
        _run_maven(jar_set, staging_dir)
        found = _digests(staging_dir, jar_set.artifacts)
        if update_lock:
            lines = [f"{checksum}  {name}" for name, checksum in found.items()]
            kind = "jar" if jar_set.artifacts == "*.jar" else "file"
            header = f"# SHA-256 of every {kind} in {jar_set.name}; rewrite with `{jar_set.update_command}`"
            jar_set.lock.write_text("\n".join([header, *lines]) + "\n")
        else:
            problems = _mismatches(found, expected)
            if problems:
                raise JarError(
                    f"The {jar_set.name} jars do not match {jar_set.lock}: " + "; ".join(problems)
                )
        if target.exists():
            shutil.rmtree(target)
        staging_dir.rename(target)
        # Leave an empty directory behind for TemporaryDirectory to remove.
        staging_dir.mkdir()
    return sorted(target.glob(jar_set.artifacts))


def coordinates(jar_set: JarSet) -> list[str]:
    """The Maven coordinates (group:artifact:version) the set's POM asks for, its
    properties filled in: what a deployment without Maven must put on the classpath."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ElementTree.parse(jar_set.pom).getroot()
    properties = {
        element.tag.split("}", 1)[1]: (element.text or "").strip()
        for element in root.findall("m:properties/*", namespace)
    }

    def text(dependency: ElementTree.Element, name: str) -> str:
        value = (dependency.findtext(f"m:{name}", "", namespace) or "").strip()
        return re.sub(r"\$\{([^}]+)\}", lambda match: properties[match.group(1)], value)

    return [
        ":".join(text(dependency, name) for name in ("groupId", "artifactId", "version"))
        for dependency in root.findall("m:dependencies/m:dependency", namespace)
    ]
