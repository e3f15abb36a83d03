"""The landing job's own JVM code (``streaming/jvm/src``), compiled into a jar once.

The jar is built with the JDK's ``javac`` against the jars of the installed pyspark,
and cached under a name that is the hash of its sources and of that Spark version, so
an edited source or another Spark builds a new one and an unchanged checkout never
compiles twice. Spark ships the jar to its executors with the job (``spark.jars``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pyspark

SOURCES = Path(__file__).resolve().parent / "jvm" / "src"
SPARK_JARS = Path(pyspark.__file__).resolve().parent / "jars"
# The oldest Java that Spark 4 runs on, so the jar loads on any of them.
JAVA_RELEASE = "17"


class JvmBuildFailed(RuntimeError):
    """The landing job's JVM code could not be compiled."""


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.java"))


def _fingerprint(root: Path) -> str:
    digest = hashlib.sha256(pyspark.__version__.encode())
    for source in _sources(root):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def find_javac() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "javac").is_file():
        return str(Path(home) / "bin" / "javac")
    found = shutil.which("javac")
    if found is None:
        raise JvmBuildFailed(
            "javac was not found: the landing job compiles a small Java function at set-up. "
            "Install a JDK 17 or newer (on Debian: sudo apt-get install -y "
            "openjdk-17-jdk-headless) or point JAVA_HOME at one, then run `make setup`."
        )
    return found


def landing_jar(cache_dir: Path, sources: Path = SOURCES) -> Path:
    """The compiled jar of ``sources`` (this package's), built first if this version of
    them has none yet."""
    jar = cache_dir / "landing-jvm" / f"smartcity-landing-{_fingerprint(sources)}.jar"
    if jar.is_file():
        return jar
    jar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=jar.parent) as staging:
        classes = Path(staging) / "classes"
        command = [
            find_javac(),
            "--release",
            JAVA_RELEASE,
            "-nowarn",
            "-cp",
            f"{SPARK_JARS}/*",
            "-d",
            str(classes),
            *map(str, _sources(sources)),
        ]
        compiled = subprocess.run(command, capture_output=True, text=True, check=False)
        if compiled.returncode != 0:
            raise JvmBuildFailed(
                f"javac failed on {sources}:\n{compiled.stdout}{compiled.stderr}".rstrip()
            )
        partial = Path(staging) / jar.name
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
            for path in sorted(classes.rglob("*.class")):
                archive.write(path, path.relative_to(classes).as_posix())
        partial.replace(jar)  # whole or not at all, even if two builds race
    for stale in jar.parent.glob("smartcity-landing-*.jar"):
        if stale != jar:
            stale.unlink(missing_ok=True)
    return jar
