import hashlib
import re
from pathlib import Path

import pytest

from smartcity import jars
from smartcity.jars import (
    KAFKA_BROKER,
    SPARK_KAFKA,
    SQLITE_JDBC,
    TRINO_SERVER,
    JarError,
    JarSet,
    _mismatches,
    ensure_jars,
    read_lock,
)
from smartcity.settings import Settings


def test_mismatches_name_missing_unexpected_and_altered_jars() -> None:
    problems = _mismatches(
        {"a.jar": "1", "c.jar": "3", "d.jar": "x"}, {"a.jar": "1", "b.jar": "2", "d.jar": "4"}
    )
    assert problems == ["missing b.jar", "unexpected c.jar", "d.jar has SHA-256 x, lock says 4"]


@pytest.mark.parametrize("jar_set", [KAFKA_BROKER, SPARK_KAFKA, SQLITE_JDBC], ids=lambda s: s.name)
def test_cached_jars_match_the_committed_lock(jar_set) -> None:
    jars = ensure_jars(jar_set, Settings.from_env().cache_dir)
    assert sorted(j.name for j in jars) == sorted(read_lock(jar_set))


def test_a_lock_that_disagrees_with_maven_is_refused(tmp_path: Path, monkeypatch) -> None:
    lock = tmp_path / "jars.sha256"
    lock.write_text("0" * 64 + "  commons-pool2-2.13.1.jar\n")
    monkeypatch.setattr(type(SPARK_KAFKA), "lock", property(lambda self: lock))
    with pytest.raises(JarError, match="do not match"):
        ensure_jars(SPARK_KAFKA, tmp_path / "cache")


def test_a_set_of_other_artifacts_is_locked_and_verified_like_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pom, lock = tmp_path / "pom.xml", tmp_path / "jars.sha256"
    pom.write_text("<project/>")
    monkeypatch.setattr(JarSet, "pom", property(lambda self: pom))
    monkeypatch.setattr(JarSet, "lock", property(lambda self: lock))
    fetches: list[Path] = []

    def fake_maven(jar_set: JarSet, output: Path) -> None:
        fetches.append(output)
        (output / "server-1.tar.gz").write_bytes(b"tarball")
        (output / "stray.jar").write_bytes(b"not part of the set")

    monkeypatch.setattr(jars, "_run_maven", fake_maven)
    tarballs = JarSet("server", transitive=False, artifacts="*.tar.gz", update_command="redo")
    found = ensure_jars(tarballs, tmp_path / "cache", update_lock=True)
    assert [path.name for path in found] == ["server-1.tar.gz"]
    assert read_lock(tarballs) == {"server-1.tar.gz": hashlib.sha256(b"tarball").hexdigest()}
    assert lock.read_text().startswith("# SHA-256 of every file in server; rewrite with `redo`")

    assert ensure_jars(tarballs, tmp_path / "cache") == found
    assert len(fetches) == 1  # verified in the cache, not fetched again
    found[0].write_bytes(b"damaged")
    ensure_jars(tarballs, tmp_path / "cache")
    assert len(fetches) == 2 and found[0].read_bytes() == b"tarball"


def test_the_trino_lock_names_the_tarball_of_the_pom_version() -> None:
    version = re.search(r"<trino.version>(\d+)</trino.version>", TRINO_SERVER.pom.read_text())
    assert version is not None
    assert list(read_lock(TRINO_SERVER)) == [f"trino-server-{version.group(1)}.tar.gz"]
