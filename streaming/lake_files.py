"""The few file operations the landing job does itself, through Hadoop's FileSystem API,
so that the same code serves a local lake and an ``s3a://`` one."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession


class LakeFiles:
    def __init__(self, spark: SparkSession, lake_uri: str) -> None:
        jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
        assert jvm is not None
        self._jvm = jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self._configuration = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        # A local lake without a `chmod` process per folder and file (streaming/jvm).
        fs = jvm.smartcity.landing.ForklessLocalFileSystem.forUri(
            self._Path(lake_uri.rstrip("/")).toUri(), self._configuration
        )
        self.object_store = str(fs.getScheme()) in ("s3a", "s3", "gs", "abfs", "abfss")
        # Locally, the file system under the checksums: a file moved into a table leaves
        # its `.crc` behind, in the staging folder that is then deleted.
        self.fs = fs if self.object_store else fs.getRawFileSystem()

    def _path(self, uri: str) -> Any:
        return self._Path(uri)

    def exists(self, uri: str) -> bool:
        """Whether ``uri`` exists, on whichever file system it names (the lake's or not)."""
        path = self._path(uri)
        return bool(path.getFileSystem(self._configuration).exists(path))

    def read_json(self, uri: str) -> Any:
        """A small JSON file, on whichever file system ``uri`` names."""
        path = self._path(uri)
        stream = path.getFileSystem(self._configuration).open(path)
        try:
            reader = self._jvm.java.io.BufferedReader(
                self._jvm.java.io.InputStreamReader(stream, "UTF-8")
            )
            lines = []
            line = reader.readLine()
            while line is not None:
                lines.append(line)
                line = reader.readLine()
        finally:
            stream.close()
        # Spark's checkpoint metadata is one JSON object on its first line.
        return json.loads(lines[0])

    def delete_tree(self, uri: str) -> None:
        self.fs.delete(self._path(uri), True)

    def names(self, folder: str) -> list[str]:
        """The names of the files directly in ``folder``; none when it does not exist."""
        path = self._path(folder)
        if not self.fs.exists(path):
            return []
        return [
            str(status.getPath().getName())
            for status in self.fs.listStatus(path)
            if status.isFile()
        ]

    def files_below(self, folder: str) -> list[str]:
        """Every file below ``folder``, as paths relative to it."""
        path = self._path(folder)
        if not self.fs.exists(path):
            return []
        prefix = self.fs.makeQualified(path).toString().rstrip("/") + "/"
        found = []
        iterator = self.fs.listFiles(path, True)
        while iterator.hasNext():
            name = iterator.next().getPath().toString()
            found.append(name[len(prefix) :] if name.startswith(prefix) else name)
        return sorted(found)

    def delete(self, uri: str) -> None:
        self.fs.delete(self._path(uri), False)

    def move(self, source: str, target: str) -> None:
        target_path = self._path(target)
        if not self.object_store:  # object stores have no folders to create
            self.fs.mkdirs(target_path.getParent())
        if not self.fs.rename(self._path(source), target_path):
            raise OSError(f"could not move {source} to {target}")
