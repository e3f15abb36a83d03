"""The landing job's local file system (``ForklessLocalFileSystem`` in ``streaming/jvm``)
against Hadoop's own, on a real JVM: the same permissions and link answers, without a
process per call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from smartcity.settings import Settings
from streaming.jvm_build import landing_jar
from streaming.session import build_session

FORKLESS = "smartcity.landing.ForklessLocalFileSystem"


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # Module scope: the end-to-end suites start sessions of their own.
    session = build_session([landing_jar(Settings.from_env().cache_dir)], "local[1]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def jvm(spark: SparkSession) -> Any:
    return spark.sparkContext._jvm  # type: ignore[attr-defined]


def _conf(spark: SparkSession) -> Any:
    return spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]


def _file_systems(spark: SparkSession, jvm: Any) -> tuple[Any, Any]:
    """Hadoop's raw local file system and ours, each initialised on the session's conf."""
    uri = jvm.java.net.URI("file:///")
    hadoop = jvm.org.apache.hadoop.fs.RawLocalFileSystem()
    hadoop.initialize(uri, _conf(spark))
    ours = getattr(jvm, FORKLESS + "$RawLocal")()
    ours.initialize(uri, _conf(spark))
    return hadoop, ours


def _mode(path: Path) -> int:
    return path.lstat().st_mode & 0o7777


def _last_pid() -> int:
    """The newest process id the kernel handed out (the last field of /proc/loadavg)."""
    return int(Path("/proc/loadavg").read_text().split()[-1])


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o755, 0o700, 0o777, 0o000, 0o1777])
def test_permissions_end_as_hadoops_own_would_set_them(
    spark: SparkSession, jvm: Any, tmp_path: Path, mode: int
) -> None:
    hadoop, ours = _file_systems(spark, jvm)
    permission = jvm.org.apache.hadoop.fs.permission.FsPermission(mode)
    for kind in ("file", "folder"):
        made = {}
        for name, fs in (("hadoop", hadoop), ("ours", ours)):
            path = tmp_path / f"{kind}-{name}"
            if kind == "file":
                path.write_bytes(b"x")
            else:
                path.mkdir()
            fs.setPermission(jvm.org.apache.hadoop.fs.Path(str(path)), permission)
            made[name] = _mode(path)
        assert made["ours"] == made["hadoop"] == mode, (kind, oct(mode))


def test_a_folder_keeps_its_set_group_id_bit_as_with_hadoops_chmod(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    # A lake under a shared set-group-ID folder hands its group down to new partitions.
    hadoop, ours = _file_systems(spark, jvm)
    permission = jvm.org.apache.hadoop.fs.permission.FsPermission(0o755)
    for through_link in (False, True):  # chmod follows a link to the folder
        made = {}
        for name, fs in (("hadoop", hadoop), ("ours", ours)):
            folder = tmp_path / f"{name}-{through_link}"
            folder.mkdir()
            folder.chmod(0o2775)
            named = folder
            if through_link:
                named = tmp_path / f"{name}-link"
                named.symlink_to(folder)
            fs.setPermission(jvm.org.apache.hadoop.fs.Path(str(named)), permission)
            made[name] = _mode(folder)
        assert made["ours"] == made["hadoop"] == 0o2755, through_link


def test_files_and_folders_it_creates_get_hadoops_permissions(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    hadoop, ours = _file_systems(spark, jvm)
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    for name, fs in (("hadoop", hadoop), ("ours", ours)):
        stream = fs.create(hadoop_path(str(tmp_path / name / "a" / "b" / "data.parquet")), True)
        stream.write(bytearray(b"rows"))
        stream.close()
    for relative in ("a", "a/b", "a/b/data.parquet"):
        assert _mode(tmp_path / "ours" / relative) == _mode(tmp_path / "hadoop" / relative)
    assert (tmp_path / "ours" / "a" / "b" / "data.parquet").read_bytes() == b"rows"


def _status(fs: Any, path: Any) -> tuple[Any, ...]:
    status = fs.getFileLinkStatus(path)
    return (
        status.isFile(),
        status.isDirectory(),
        status.isSymlink(),
        str(status.getSymlink()) if status.isSymlink() else None,
        status.getLen() if status.isFile() else None,
        str(status.getPath()),
    )


def test_link_status_is_hadoops_for_files_folders_links_and_missing_paths(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    hadoop, ours = _file_systems(spark, jvm)
    (tmp_path / "file").write_bytes(b"12345")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "folder-link").symlink_to(tmp_path / "folder")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    # Plain paths, and qualified ones as FileContext passes them (for which Hadoop's own
    # `readlink` is handed "file:/..." and so never finds a link).
    for name in ("file", "folder", "link", "folder-link", "dangling"):
        for text in (str(tmp_path / name), (tmp_path / name).as_uri()):
            path = jvm.org.apache.hadoop.fs.Path(text)
            if name == "dangling" and text.startswith("file:"):
                continue  # followed, as Hadoop's does: missing, checked below
            assert _status(ours, path) == _status(hadoop, path), text
    for text in (str(tmp_path / "missing"), (tmp_path / "dangling").as_uri()):
        missing = jvm.org.apache.hadoop.fs.Path(text)
        for fs in (hadoop, ours):
            with pytest.raises(Py4JJavaError, match="FileNotFoundException"):
                fs.getFileLinkStatus(missing)


def test_it_starts_no_process_where_hadoops_starts_one_per_call(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    hadoop, ours = _file_systems(spark, jvm)
    calls = 40
    started = {}
    for name, fs in (("hadoop", hadoop), ("ours", ours)):
        folder = tmp_path / name
        folder.mkdir()
        before = _last_pid()
        for index in range(calls):
            path = jvm.org.apache.hadoop.fs.Path(str(folder / f"{index}"))
            fs.create(path, True).close()  # a chmod each, in Hadoop's
            fs.getFileLinkStatus(path)  # a readlink each, in Hadoop's
        started[name] = _last_pid() - before
    # Other processes and new threads take ids too, so only the gap is asserted.
    assert started["hadoop"] >= 2 * calls, started
    assert started["ours"] < calls // 2, started


def test_a_local_uri_gets_this_file_system_and_checkpoints_can_use_it(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    conf = jvm.org.apache.hadoop.conf.Configuration(_conf(spark))
    forkless = getattr(jvm, FORKLESS)
    for uri in (tmp_path.as_uri(), str(tmp_path)):
        fs = forkless.forUri(jvm.java.net.URI(uri), conf)
        assert fs.getClass().getName() == FORKLESS, uri
    # Any other scheme keeps Hadoop's own file system (http: stands in for s3a:).
    other = forkless.forUri(jvm.java.net.URI("http://127.0.0.1:9/lake"), conf)
    assert other.getScheme() == "http"
    # Spark's checkpoints go through FileContext: a file written aside and renamed over
    # an older one, as each offset and commit file is.
    forkless.forCheckpoints(conf)
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(
        jvm.java.net.URI(tmp_path.as_uri()), conf
    )
    assert context.getDefaultFileSystem().getClass().getName() == FORKLESS + "$ForFileContext"
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    gateway = spark.sparkContext._gateway  # type: ignore[attr-defined]
    create_options = gateway.new_array(getattr(jvm, "org.apache.hadoop.fs.Options$CreateOpts"), 1)
    create_options[0] = getattr(jvm, "org.apache.hadoop.fs.Options$CreateOpts").createParent()
    overwrite = gateway.new_array(getattr(jvm, "org.apache.hadoop.fs.Options$Rename"), 1)
    overwrite[0] = getattr(jvm, "org.apache.hadoop.fs.Options$Rename").OVERWRITE
    create = jvm.java.util.EnumSet.of(jvm.org.apache.hadoop.fs.CreateFlag.CREATE)
    final = tmp_path / "offsets" / "0"
    for text in (b"first", b"second"):
        aside = hadoop_path(str(tmp_path / "offsets" / ".0.tmp"))
        stream = context.create(aside, create, create_options)
        stream.write(bytearray(text))
        stream.close()
        context.rename(aside, hadoop_path(str(final)), overwrite)
    assert final.read_bytes() == b"second"
    assert (tmp_path / "offsets" / ".0.crc").is_file()  # checksummed, as Hadoop's LocalFs


def test_writers_get_it_for_a_local_staging_folder_only(
    spark: SparkSession, jvm: Any, tmp_path: Path
) -> None:
    forkless = getattr(jvm, FORKLESS)
    local = jvm.org.apache.hadoop.conf.Configuration(_conf(spark))
    forkless.forWriters(local, jvm.java.net.URI(tmp_path.as_uri()))
    staged = jvm.org.apache.hadoop.fs.Path((tmp_path / "staging" / "part-0.parquet").as_uri())
    fs = staged.getFileSystem(local)
    assert fs.getClass().getName() == FORKLESS + "$WithoutChecksums"
    fs.create(staged, True).close()
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == ["part-0.parquet"]
    # Whatever asks for "the local file system" of that configuration still gets one
    # (FileSystem.getLocal casts to LocalFileSystem; S3A's disk buffers ask for it).
    assert jvm.org.apache.hadoop.fs.FileSystem.getLocal(local).getScheme() == "file"

    remote = jvm.org.apache.hadoop.conf.Configuration(_conf(spark))
    forkless.forWriters(remote, jvm.java.net.URI("http://127.0.0.1:9/lake"))
    assert remote.get("fs.file.impl") == _conf(spark).get("fs.file.impl")
    assert not remote.getBoolean("fs.file.impl.disable.cache", False)
