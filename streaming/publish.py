"""Publishing a micro-batch into the lake so that plain directory readers see it once.

Spark's own file sink records committed files in ``_spark_metadata``, which only Spark
reads; DuckDB, Athena, Redshift Spectrum and Glue crawlers list the directories. So each
batch is written to a staging folder first, then moved into its partitions under names
that carry the batch id, and a manifest per batch records those names before any is
moved. A batch that Spark replays after a crash has the same id: its previous files are
removed through the manifest before the new ones move in, so no row is landed twice and
none is lost. Staging and manifests live under ``<lake>/_landing``, outside every table.

All file operations go through Hadoop's FileSystem API, so the same code serves a local
lake and an ``s3a://`` one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession

LANDING_DIR = "_landing"
MANIFEST_NAME = re.compile(r"batch-(\d+)\.json")


@dataclass(frozen=True)
class PublishedBatch:
    files: list[str]


class LakePublisher:
    def __init__(self, spark: SparkSession, lake_uri: str) -> None:
        self.spark = spark
        self.lake_uri = lake_uri.rstrip("/")
        jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        assert jvm is not None
        self._Path = jvm.org.apache.hadoop.fs.Path
        configuration = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        self._configuration = configuration
        # A local lake without a `chmod` process per folder and file (streaming/jvm).
        self.fs = jvm.smartcity.landing.ForklessLocalFileSystem.forUri(
            self._Path(self.lake_uri).toUri(), configuration
        )
        self.object_store = str(self.fs.getScheme()) in ("s3a", "s3", "gs", "abfs", "abfss")

    def _path(self, uri: str) -> Any:
        return self._Path(uri)

    def _exists(self, uri: str) -> bool:
        return bool(self.fs.exists(self._path(uri)))

    def _delete(self, uri: str, recursive: bool = False) -> None:
        self.fs.delete(self._path(uri), recursive)

    def _read_text(self, uri: str) -> str:
        stream = self.fs.open(self._path(uri))
        try:
            reader = self.spark.sparkContext._jvm.java.io.BufferedReader(  # type: ignore[union-attr]
                self.spark.sparkContext._jvm.java.io.InputStreamReader(stream, "UTF-8")  # type: ignore[union-attr]
            )
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
            return "\n".join(lines)
        finally:
            stream.close()

    def _write_text(self, uri: str, text: str) -> None:
        # Written aside, then renamed: a crash never leaves a half-written manifest.
        partial = f"{uri}.partial"
        stream = self.fs.create(self._path(partial), True)
        try:
            stream.write(bytearray(text.encode()))
        finally:
            stream.close()
        if self.fs.exists(self._path(uri)):
            self.fs.delete(self._path(uri), False)
        if not self.fs.rename(self._path(partial), self._path(uri)):
            raise OSError(f"could not write {uri}")

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` exists, on whichever file system it names (the lake's or not)."""
        path = self._path(uri)
        return bool(path.getFileSystem(self._configuration).exists(path))

    def has_manifests(self, table: str) -> bool:
        folder = f"{self.lake_uri}/{LANDING_DIR}/manifests/{table}"
        return self._exists(folder) and len(self.fs.listStatus(self._path(folder))) > 0

    def prune(self, table: str, batch_id: int) -> int:
        """Delete the manifests of ``table``'s batches before ``batch_id``, all but the
        newest; return how many went.

        Spark replays only the batch in flight, so no older manifest is read again; the
        newest stays to tell that the lake holds batches (a new checkpoint over it is
        refused). Without this, ``_landing`` gains a file per batch and table for ever.
        """
        folder = self._path(f"{self.lake_uri}/{LANDING_DIR}/manifests/{table}")
        if not self.fs.exists(folder):
            return 0
        manifests = []
        for status in self.fs.listStatus(folder):
            match = MANIFEST_NAME.fullmatch(str(status.getPath().getName()))
            if match:
                manifests.append((int(match.group(1)), status.getPath()))
        newest = max((number for number, _ in manifests), default=None)
        stale = [path for number, path in manifests if number < batch_id and number != newest]
        for path in stale:
            self.fs.delete(path, False)
        return len(stale)

    def clear(self, table: str, batch_id: int) -> None:
        """Remove whatever an earlier attempt of this batch published to ``table``."""
        manifest = self.manifest_uri(table, batch_id)
        if self._exists(manifest):
            for earlier in json.loads(self._read_text(manifest))["files"]:
                self._delete(earlier)
            self._delete(manifest)

    def _parquet_files(self, root: str) -> list[str]:
        """Every Parquet data file below ``root``, as paths relative to it."""
        found: list[str] = []
        iterator = self.fs.listFiles(self._path(root), True)
        prefix = self.fs.makeQualified(self._path(root)).toString().rstrip("/") + "/"
        while iterator.hasNext():
            path = iterator.next().getPath().toString()
            name = path.rsplit("/", 1)[-1]
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                found.append(path[len(prefix) :] if path.startswith(prefix) else name)
        return sorted(found)

    def manifest_uri(self, table: str, batch_id: int) -> str:
        return f"{self.lake_uri}/{LANDING_DIR}/manifests/{table}/batch-{batch_id:012d}.json"

    def publish(
        self, frame: DataFrame, table: str, partitions: tuple[str, ...], batch_id: int
    ) -> PublishedBatch:
        """Write ``frame`` as batch ``batch_id`` of ``<lake>/<table>``, replacing any
        earlier attempt of the same batch."""

        def write(staging: str) -> list[str]:
            frame.write.mode("overwrite").partitionBy(*partitions).parquet(staging)
            # Spark's commit protocol leaves only committed files in the folder.
            return self._parquet_files(staging) if self._exists(staging) else []

        return self.publish_written(write, table, batch_id)

    def publish_written(
        self, write: Callable[[str], list[str]], table: str, batch_id: int
    ) -> PublishedBatch:
        """Publish as batch ``batch_id`` of ``<lake>/<table>`` the files that
        ``write(staging)`` writes under an empty staging folder and returns, relative to
        it (partition folders included); anything else there is left out and deleted."""
        staging = f"{self.lake_uri}/{LANDING_DIR}/staging/{table}/batch-{batch_id:012d}"
        self._delete(staging, recursive=True)
        staged = sorted(write(staging))

        manifest = self.manifest_uri(table, batch_id)
        if self._exists(manifest):
            for earlier in json.loads(self._read_text(manifest))["files"]:
                self._delete(earlier)
        targets = []
        for index, relative in enumerate(staged):
            directory = relative.rsplit("/", 1)[0] if "/" in relative else ""
            name = f"part-b{batch_id:012d}-{index:05d}.parquet"
            folder = "/".join(part for part in (self.lake_uri, table, directory) if part)
            targets.append(f"{folder}/{name}")
        # Written before any file moves, so a crash half-way is undone on replay.
        self._write_text(manifest, json.dumps({"batch_id": batch_id, "files": targets}))
        for relative, target in zip(staged, targets, strict=True):
            target_path = self._path(target)
            if not self.object_store:  # object stores have no folders to create
                self.fs.mkdirs(target_path.getParent())
            if self.fs.exists(target_path):
                self.fs.delete(target_path, False)
            if not self.fs.rename(self._path(f"{staging}/{relative}"), target_path):
                raise OSError(f"could not move {staging}/{relative} to {target}")
        self._delete(staging, recursive=True)
        return PublishedBatch(files=targets)
