from pathlib import Path

import pytest

from smartcity.jars import KAFKA_BROKER, SPARK_KAFKA, JarError, _mismatches, ensure_jars, read_lock
from smartcity.settings import Settings


def test_mismatches_name_missing_unexpected_and_altered_jars() -> None:
    problems = _mismatches(
        {"a.jar": "1", "c.jar": "3", "d.jar": "x"}, {"a.jar": "1", "b.jar": "2", "d.jar": "4"}
    )
    assert problems == ["missing b.jar", "unexpected c.jar", "d.jar has SHA-256 x, lock says 4"]


@pytest.mark.parametrize("jar_set", [KAFKA_BROKER, SPARK_KAFKA], ids=lambda s: s.name)
def test_cached_jars_match_the_committed_lock(jar_set) -> None:
    jars = ensure_jars(jar_set, Settings.from_env().cache_dir)
    assert sorted(j.name for j in jars) == sorted(read_lock(jar_set))


def test_a_lock_that_disagrees_with_maven_is_refused(tmp_path: Path, monkeypatch) -> None:
    lock = tmp_path / "jars.sha256"
    lock.write_text("0" * 64 + "  commons-pool2-2.13.1.jar\n")
    monkeypatch.setattr(type(SPARK_KAFKA), "lock", property(lambda self: lock))
    with pytest.raises(JarError, match="do not match"):
        ensure_jars(SPARK_KAFKA, tmp_path / "cache")
