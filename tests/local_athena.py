"""A local Athena for the tests: Athena's API over HTTP, each query run on the test Trino
(the engine Athena v3 is built on), whose ``awsdatacatalog`` keeps its tables in moto's
Glue and its files in moto's S3. The client is the real one: dbt-athena through boto3,
pointed here by ``AWS_ENDPOINT_URL_ATHENA``.

**IAM.** Every request is first sent, byte for byte and with its signature, to the moto
server, which judges it under the caller's policies (``tests/local_aws.py`` judges a
query call against its workgroup's ARN) and logs it; a refusal is returned to the client
as moto gave it. moto also makes each execution's id. What the query itself then reads
and writes, Trino does with the service's keys: the caller's S3 and Glue permissions are
not checked for the data a query touches (Athena checks them).

**Statements.** A statement is run as Trino runs it unless Athena spells it differently;
then it is translated, and each translation is listed here. Anything else Trino refuses
fails the query with Trino's error name in Athena's shape (``NAME: message``), so no
statement the local Athena cannot run as Athena would succeeds silently.

======================================  ================================================
Athena                                  Trino
======================================  ================================================
Hive DDL: `quoted` names, string, int,  "quoted" names, varchar, integer, real,
float, binary, array<t>, struct<...>    varbinary, array(t), row(...)
create external table ... location      create table ... with (external_location, format)
row format serde ... OpenCSVSerde,      format = 'CSV' (all columns varchar),
tblproperties skip.header.line.count    skip_header_line_count
CTAS with (table_type='iceberg', ...)   the table created in the Iceberg catalog over the
                                        same Glue; location, partitioning, format kept
CTAS with (table_type='hive', ...)      external_location, partitioned_by, format kept;
                                        without a location, Athena's: the query's result
                                        location, <output location>/tables/<query id>
is_external, write_compression          dropped (Trino's defaults; no table property)
alter table t set tblproperties (...)   no Trino statement: Glue UpdateTable of the
                                        table's parameters
optimize t rewrite data using bin_pack  alter table t execute optimize [where ...]
  [where ...]
create [or replace] view v as ...       the same, then the view's columns written into
                                        its Glue table as Athena does (Trino's Glue
                                        metastore stores one "dummy" column)
vacuum t                                alter table t execute expire_snapshots and
                                        remove_orphan_files (both in the Iceberg
                                        catalog, as optimize), at the table's
                                        vacuum_max_snapshot_age_seconds (Athena's
                                        default, 5 days)
======================================  ================================================

Limits as Athena's where they matter: 100 open partitions per statement (Trino's catalogs
allow 100 per writer, ``tests/local_trino.py``, and each query here has one writer), and the workgroup's ``BytesScannedCutoffPerQuery``, checked
against the physical input bytes of Trino's query statistics when the query ends
(Athena cancels it while running; both fail it with the same reason).

**Looks at a running query.** ``GetQueryExecution`` on a running query is answered when
the query ends or after ``LOOK_HOLD_S``, whichever is first: the answer is the one Athena
gives, only later, and the client looks once where its poll interval would have it look
ten times (each look costs the client a signed request and moto an IAM verdict, on the
two cores the tests share).
"""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from smartcity.local_stack.kafka_broker import free_port
from tests.local_trino import GLUE_CATALOG, GLUE_ICEBERG_CATALOG, LocalTrino
from tests.trino_scans import TableScan, query_info, scans_of

# Athena's limit of 100 partitions is per statement; Trino's is per writer. One writer
# per statement makes them the same.
ATHENA_WRITER_SESSION = {
    "scale_writers": "false",
    "task_scale_writers_enabled": "false",
    "task_min_writer_count": "1",
    "task_max_writer_count": "1",
}
QUERY_WORKERS = 4  # as many as the athena target's dbt threads
RESULTS_PAGE = 1000  # Athena's page size for GetQueryResults
ATHENA_VACUUM_DEFAULT_AGE_S = 432_000  # vacuum_max_snapshot_age_seconds' default
# A look at a running query (GetQueryExecution) is answered when the query ends, or
# after this long with its state then. The answer is Athena's either way; the client
# looks far less often than its poll interval would make it, and each look costs the
# machine the tests share (the client's signing, an IAM verdict) without this.
LOOK_HOLD_S = 1.0


class InvalidRequest(Exception):
    """A request Athena answers with InvalidRequestException."""


class UnsupportedStatement(Exception):
    """A statement the local Athena cannot run as Athena would."""


# ------------------------------------------------------------------ translation

_LEADING_COMMENTS = re.compile(r"^(\s*(--[^\n]*\n|/\*.*?\*/))*\s*", re.S)
_HIVE_TYPES = [
    (re.compile(r"\bstring\b", re.I), "varchar"),
    (re.compile(r"\bint\b", re.I), "integer"),
    (re.compile(r"\bfloat\b", re.I), "real"),
    (re.compile(r"\bbinary\b", re.I), "varbinary"),
]


def _strip_comments(sql: str) -> str:
    return _LEADING_COMMENTS.sub("", sql, count=1).strip().rstrip(";").strip()


def _without_line_comments(sql: str) -> str:
    """``sql`` without its ``--`` comments (those outside quotes)."""
    kept, quote, index = [], None, 0
    while index < len(sql):
        char = sql[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            index = len(sql) if end < 0 else end
            continue
        kept.append(char)
        index += 1
    return "".join(kept)


def _unbacktick(sql: str) -> str:
    return sql.replace("`", '"')


def _trino_type(hive_type: str) -> str:
    text = hive_type.strip()
    # Nested Hive types, innermost first: array<t> -> array(t), struct<a:t> -> row(a t).
    while True:
        match = re.search(r"\b(array|struct|map)<([^<>]*)>", text, re.I)
        if not match:
            break
        kind, inner = match.group(1).lower(), match.group(2)
        if kind == "struct":
            fields = ", ".join(
                f"{name.strip()} {kind_.strip()}"
                for name, kind_ in (part.split(":", 1) for part in inner.split(","))
            )
            replacement = f"row({fields})"
        else:
            replacement = f"{kind}({inner})"
        text = text[: match.start()] + replacement + text[match.end() :]
    for pattern, trino in _HIVE_TYPES:
        text = pattern.sub(trino, text)
    return text


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, depth, current, quote = [], 0, [], None
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char in "(<[":
            depth += 1
        elif char in ")>]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def _matching_paren(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at ``start``."""
    depth, quote = 0, None
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    raise UnsupportedStatement("unbalanced parentheses")


@dataclass
class Translation:
    """What one Athena statement becomes: Trino statements, or Glue table parameters to
    set (``alter table ... set tblproperties``)."""

    statements: list[str] = field(default_factory=list)
    statement_type: str = "DML"
    table_properties: tuple[str, str, dict[str, str]] | None = None


def _create_external_table(sql: str) -> str:
    head = re.match(r"create\s+external\s+table\s+(if\s+not\s+exists\s+)?(\S+)\s*\(", sql, re.I)
    if not head:
        raise UnsupportedStatement("create external table without a column list")
    close = _matching_paren(sql, head.end() - 1)
    columns = [
        f"{name} {_trino_type(kind)}"
        for name, kind in (
            column.split(None, 1) for column in _split_top_level(sql[head.end() : close])
        )
    ]
    rest = sql[close + 1 :]
    properties: dict[str, str] = {}
    partitioned = re.search(r"partitioned\s+by\s*\(", rest, re.I)
    if partitioned:
        end = _matching_paren(rest, partitioned.end() - 1)
        keys = _split_top_level(rest[partitioned.end() : end])
        columns += [f"{k.split(None, 1)[0]} {_trino_type(k.split(None, 1)[1])}" for k in keys]
        names = ", ".join(f"'{k.split(None, 1)[0].strip(chr(34))}'" for k in keys)
        properties["partitioned_by"] = f"array[{names}]"
        rest = rest[: partitioned.start()] + rest[end + 1 :]
    location = re.search(r"location\s+'([^']+)'", rest, re.I)
    if not location:
        raise UnsupportedStatement("create external table without a location")
    properties["external_location"] = f"'{location.group(1)}'"
    if re.search(r"OpenCSVSerde", rest):
        properties["format"] = "'CSV'"
        columns = [f"{column.split(None, 1)[0]} varchar" for column in columns]
    elif re.search(r"stored\s+as\s+parquet", rest, re.I):
        properties["format"] = "'PARQUET'"
    elif re.search(r"row\s+format|stored\s+as|serde", rest, re.I):
        raise UnsupportedStatement("a storage format other than Parquet or OpenCSVSerde")
    else:
        properties["format"] = "'TEXTFILE'"
    skip = re.search(r"'skip\.header\.line\.count'\s*=\s*'(\d+)'", rest)
    if skip:
        properties["skip_header_line_count"] = skip.group(1)
    listed = ",\n    ".join(columns)
    with_clause = ", ".join(f"{k} = {v}" for k, v in properties.items())
    exists = head.group(1) or ""
    return f"create table {exists}{head.group(2)} (\n    {listed}\n) with ({with_clause})"


_CTAS = re.compile(r"create\s+table\s+(\S+)\s+with\s*\(", re.I)
_DROPPED_CTAS_PROPERTIES = {"is_external", "write_compression", "table_type"}


def _qualified_in(catalog: str, name: str, schema: str) -> str:
    parts = name.split(".")
    if len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 1:
        parts = [f'"{schema}"', parts[0]]
    return ".".join([catalog, *parts])


def _ctas(sql: str, schema: str, results_location: str) -> str:
    head = _CTAS.match(sql)
    assert head
    close = _matching_paren(sql, head.end() - 1)
    properties = {}
    for item in _split_top_level(sql[head.end() : close]):
        key, value = (part.strip() for part in item.split("=", 1))
        properties[key.lower()] = value
    body = sql[close + 1 :]
    kind = properties.get("table_type", "'hive'").strip("'\"").lower()
    kept: dict[str, str] = {}
    unknown = set(properties) - _DROPPED_CTAS_PROPERTIES
    if kind == "iceberg":
        catalog = GLUE_ICEBERG_CATALOG
        renames = {"location": "location", "partitioning": "partitioning", "format": "format"}
    elif kind == "hive":
        catalog = GLUE_CATALOG
        renames = {
            "external_location": "external_location",
            "partitioned_by": "partitioned_by",
            "format": "format",
            "bucketed_by": "bucketed_by",
            "bucket_count": "bucket_count",
        }
    else:
        raise UnsupportedStatement(f"table_type {kind}")
    for key in sorted(unknown):
        if key not in renames:
            raise UnsupportedStatement(f"the {kind} table property {key}")
        value = properties[key]
        kept[renames[key]] = value.upper() if key == "format" else value
    if kind == "hive" and "external_location" not in kept:
        # Athena writes a Hive CTAS without a location under the query's result location.
        kept["external_location"] = f"'{results_location}'"
    target = _qualified_in(catalog, head.group(1), schema)
    with_clause = ", ".join(f"{k} = {v}" for k, v in kept.items())
    return f"create table {target} with ({with_clause}) {body.strip()}"


_SET_TBLPROPERTIES = re.compile(
    r"alter\s+table\s+(\S+)\s+set\s+tblproperties\s*\((.*)\)$", re.I | re.S
)
_OPTIMIZE = re.compile(
    r"optimize\s+(\S+)\s+rewrite\s+data\s+using\s+bin_pack(\s+where\s+.*)?$", re.I | re.S
)
_VACUUM = re.compile(r"vacuum\s+(\S+)$", re.I)
_DDL = re.compile(r"(create|drop|alter|msck|show|describe)\b", re.I)


def translate(
    sql: str,
    schema: str,
    results_location: str = "",
    snapshot_age_s: int = ATHENA_VACUUM_DEFAULT_AGE_S,
) -> Translation:
    """The Trino statements for one Athena statement (see the module's table);
    ``results_location`` is where Athena writes a Hive CTAS that names no location
    (``<output location>/tables/<query id>``); ``snapshot_age_s`` is the table's
    ``vacuum_max_snapshot_age_seconds`` for a VACUUM."""
    text = _strip_comments(sql)
    # Athena runs one statement per query; a ";" in a comment separates nothing.
    if len(_split_top_level(_without_line_comments(text), ";")) > 1:
        raise UnsupportedStatement("more than one statement in a query")
    if re.match(r"create\s+external\s+table", text, re.I):
        return Translation([_create_external_table(_unbacktick(text))], "DDL")
    if _CTAS.match(text):
        return Translation([_ctas(text, schema, results_location)], "DDL")
    tblproperties = _SET_TBLPROPERTIES.match(_unbacktick(text))
    if tblproperties:
        pairs = dict(
            (key.strip().strip("'\""), value.strip().strip("'\""))
            for key, value in (
                item.split("=", 1) for item in _split_top_level(tblproperties.group(2))
            )
        )
        parts = tblproperties.group(1).replace('"', "").split(".")
        database, table = (parts[-2] if len(parts) > 1 else schema), parts[-1]
        return Translation([], "DDL", (database, table, pairs))
    optimize = _OPTIMIZE.match(text)
    if optimize:
        table = _qualified_in(GLUE_ICEBERG_CATALOG, _unbacktick(optimize.group(1)), schema)
        where = optimize.group(2) or ""
        return Translation([f"alter table {table} execute optimize{where}"], "DML")
    vacuum = _VACUUM.match(text)
    if vacuum:
        table = _qualified_in(GLUE_ICEBERG_CATALOG, _unbacktick(vacuum.group(1)), schema)
        age = f"'{snapshot_age_s}s'"
        return Translation(
            [
                f"alter table {table} execute expire_snapshots(retention_threshold => {age})",
                f"alter table {table} execute remove_orphan_files(retention_threshold => {age})",
            ],
            "DML",
        )
    if re.match(r"(create|drop)\s+(database|schema)\b", text, re.I):
        return Translation([_unbacktick(text)], "DDL")
    if re.match(r"(show|describe|explain)\b", text, re.I):
        return Translation([_unbacktick(text)], "UTILITY")
    if _DDL.match(text):
        return Translation([_unbacktick(text)], "DDL")
    return Translation([text], "DML")


# ------------------------------------------------------------------ results

_ATHENA_TYPE_NAMES = {"real": "float", "char": "char", "varchar": "varchar"}


def column_info(name: str, trino_type: str) -> dict[str, Any]:
    """Athena's ColumnInfo for a Trino result column: the base type name, precision and
    scale apart."""
    base = trino_type.split("(", 1)[0].strip()
    precision, scale = 0, 0
    arguments = re.match(r"\w[\w ]*\((\d+)(?:,\s*(\d+))?\)$", trino_type)
    if arguments and base in ("decimal", "varchar", "char"):
        precision, scale = int(arguments.group(1)), int(arguments.group(2) or 0)
    if base.startswith("timestamp") and "with time zone" in trino_type:
        base = "timestamp with time zone"
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": _ATHENA_TYPE_NAMES.get(base, base),
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": base in ("varchar", "char"),
    }


def render(value: object) -> str | None:
    """A value as Athena's results show it (Trino's text form; varbinary as hex)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return " ".join(f"{byte:02x}" for byte in value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join("null" if v is None else str(render(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in value.items()) + "}"
    return str(value)


# ------------------------------------------------------------------ executions


@dataclass
class Execution:
    id: str
    query: str
    database: str
    work_group: str
    output_location: str
    statement_type: str = "DML"
    state: str = "QUEUED"
    reason: str | None = None
    error_name: str | None = None
    submitted_at: float = field(default_factory=time.time)
    completed_at: float | None = None
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    update_count: int = 0
    scanned_bytes: int = 0
    trino_statements: list[str] = field(default_factory=list)
    trino_query_ids: list[str] = field(default_factory=list)
    # What each table cost the statement, from Trino's statistics (when asked for:
    # LocalAthena.record_scans).
    scans: list[TableScan] = field(default_factory=list)
    cancel: Callable[[], None] | None = None
    cursor: Any = None  # the Trino cursor of the statement running now
    ended: threading.Event = field(default_factory=threading.Event)

    @property
    def engine_query_id(self) -> str | None:
        """The Trino query now running (its id is known while ``execute`` still waits)."""
        return getattr(self.cursor, "query_id", None) if self.cursor is not None else None

    def as_athena(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "State": self.state,
            "SubmissionDateTime": self.submitted_at,
        }
        if self.completed_at is not None:
            status["CompletionDateTime"] = self.completed_at
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.state == "FAILED":
            status["AthenaError"] = {
                # Athena's ICEBERG_ERROR type is 233; the user category otherwise.
                "ErrorCategory": 2,
                "ErrorType": 233 if (self.error_name or "").startswith("ICEBERG") else 1006,
                "Retryable": False,
                "ErrorMessage": self.reason,
            }
        elapsed = int(((self.completed_at or time.time()) - self.submitted_at) * 1000)
        return {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "ResultConfiguration": {"OutputLocation": self.result_uri},
            "QueryExecutionContext": {"Database": self.database, "Catalog": GLUE_CATALOG},
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": elapsed,
                "DataScannedInBytes": self.scanned_bytes,
                "TotalExecutionTimeInMillis": elapsed,
            },
            "WorkGroup": self.work_group,
            "EngineVersion": {
                "SelectedEngineVersion": "Athena engine version 3",
                "EffectiveEngineVersion": "Athena engine version 3",
            },
        }

    @property
    def result_uri(self) -> str:
        suffix = "csv" if self.statement_type == "DML" else "txt"
        return f"{self.output_location.rstrip('/')}/{self.id}.{suffix}"


_CREATE_VIEW = re.compile(r"create\s+(?:or\s+replace\s+)?view\s+(\S+)", re.I)
TABLE_INPUT_KEYS = {
    "Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys",
    "TableType", "Parameters", "ViewOriginalText", "ViewExpandedText",
}  # fmt: skip


def hive_type(trino_type: str) -> str:
    """A Trino type as Glue names it (Hive's spelling), for a view's columns."""
    text = trino_type.strip()
    while True:
        inner = re.search(r"\b(array|map|row)\(([^()]*)\)", text)
        if not inner:
            break
        kind, body = inner.group(1), inner.group(2)
        if kind == "row":
            fields = ",".join(
                f"{f.split(None, 1)[0]}:{f.split(None, 1)[1]}" for f in _split_top_level(body)
            )
            replacement = f"struct<{fields}>"
        else:
            replacement = f"{kind}<{body.replace(' ', '')}>"
        text = text[: inner.start()] + replacement + text[inner.end() :]
    text = re.sub(r"\bvarchar(\(\d+\))?", "string", text)
    text = re.sub(r"\btimestamp\(\d+\)", "timestamp", text)
    for trino, hive in (("integer", "int"), ("real", "float"), ("varbinary", "binary")):
        text = re.sub(rf"\b{trino}\b", hive, text)
    return text


class AthenaQueryError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def _json_error(text: str) -> dict[str, Any]:
    """moto's refusal (an XML error document) in the Athena API's JSON shape."""
    code = re.search(r"<Code>([^<]+)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    name = code.group(1) if code else "InternalServerException"
    if name == "AccessDenied":
        name = "AccessDeniedException"
    return {"__type": name, "Message": message.group(1) if message else text}


class LocalAthena:
    """The HTTP server; ``statements`` records every query in the order received."""

    host = "127.0.0.1"

    def __init__(self, trino: LocalTrino, moto_endpoint: str, service: Any) -> None:
        """``service`` holds boto3 clients (``s3``, ``glue``, ``athena``) under the keys
        Athena's engine acts with."""
        self.trino = trino
        self.moto = urllib.parse.urlsplit(moto_endpoint)
        self.service = service
        self.port = free_port()
        self.executions: dict[str, Execution] = {}
        self.statements: list[Execution] = []
        self.table_properties: dict[tuple[str, str], dict[str, str]] = {}
        # Read each statement's table scans from Trino when it ends (Execution.scans);
        # off unless a test measures them, since it costs a request per statement.
        self.record_scans = False
        # Faults a test sets: a statement matching the pattern fails with the error
        # (Athena's name and message) before it runs, as a real one can fail at any point.
        self.faults: list[tuple[re.Pattern[str], str, str]] = []
        self._finishing = threading.Lock()
        self._pool = ThreadPoolExecutor(QUERY_WORKERS, thread_name_prefix="local-athena")
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -------------------------------------------------------------- HTTP

    def start(self) -> LocalAthena:
        athena = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, payload = athena.handle(self.path, dict(self.headers.items()), body)
                data = json.dumps(payload, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for execution in list(self.executions.values()):
            if execution.cancel is not None and execution.state in ("QUEUED", "RUNNING"):
                execution.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _judged_by_moto(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """The request as sent, to moto: its IAM verdict (and its execution id)."""
        connection = http.client.HTTPConnection(self.moto.hostname, self.moto.port, timeout=30)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            connection.request("POST", path, body=body, headers=forwarded)
            response = connection.getresponse()
            text = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(text or b"{}")
        except ValueError:
            return response.status, _json_error(text.decode(errors="replace"))

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        target = headers.get("X-Amz-Target", "")
        operation = target.split(".", 1)[-1]
        request = json.loads(body or b"{}")
        status, judged = self._judged_by_moto(path, headers, body)
        if status >= 300:
            return status, judged
        try:
            if operation == "StartQueryExecution":
                return 200, {"QueryExecutionId": self._start(judged["QueryExecutionId"], request)}
            if operation == "GetQueryExecution":
                execution = self._execution(request)
                execution.ended.wait(LOOK_HOLD_S)
                return 200, {"QueryExecution": execution.as_athena()}
            if operation == "GetQueryResults":
                return 200, self._results(request)
            if operation == "StopQueryExecution":
                self._stop(self._execution(request))
                return 200, {}
            if operation == "GetWorkGroup":
                return 200, judged
        except KeyError as missing:
            return 400, {"__type": "InvalidRequestException", "Message": f"unknown {missing}"}
        except InvalidRequest as invalid:
            return 400, {"__type": "InvalidRequestException", "Message": str(invalid)}
        except Exception as error:  # a fault of the stand-in: said, never a dropped answer
            return 500, {"__type": "InternalServerException", "Message": repr(error)}
        return 400, {
            "__type": "InvalidRequestException",
            "Message": f"the local Athena does not implement {operation}",
        }

    # -------------------------------------------------------------- queries

    def _work_group(self, name: str) -> dict[str, Any]:
        return self.service.athena.get_work_group(WorkGroup=name)["WorkGroup"]

    def _start(self, query_id: str, request: dict[str, Any]) -> str:
        work_group = request.get("WorkGroup", "primary")
        configuration = self._work_group(work_group).get("Configuration", {})
        output = configuration.get("ResultConfiguration", {}).get("OutputLocation")
        if not configuration.get("EnforceWorkGroupConfiguration") or not output:
            output = request.get("ResultConfiguration", {}).get("OutputLocation") or output
        if not output:
            raise KeyError("OutputLocation")
        execution = Execution(
            id=query_id,
            query=request["QueryString"],
            database=request.get("QueryExecutionContext", {}).get("Database", "default"),
            work_group=work_group,
            output_location=output,
        )
        cutoff = configuration.get("BytesScannedCutoffPerQuery")
        self.executions[query_id] = execution
        self.statements.append(execution)
        self._pool.submit(self._run, execution, cutoff)
        return query_id

    def _execution(self, request: dict[str, Any]) -> Execution:
        return self.executions[request["QueryExecutionId"]]

    def _stop(self, execution: Execution) -> None:
        if execution.state in ("QUEUED", "RUNNING"):
            # Cancelled first: the engine's failure that the cancel causes comes after,
            # and a finished execution keeps its first end.
            self._finish(execution, "CANCELLED", "Query cancelled by user")
            if execution.cancel is not None:
                execution.cancel()

    def _finish(self, execution: Execution, state: str, reason: str | None = None) -> None:
        with self._finishing:  # a stop and the engine's answer may end it at once
            if execution.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return
            execution.reason = reason
            execution.completed_at = time.time()
            execution.state = state
            execution.ended.set()

    def _run(self, execution: Execution, cutoff: int | None) -> None:
        if execution.state == "CANCELLED":
            return
        execution.state = "RUNNING"
        try:
            tables = f"{execution.output_location.rstrip('/')}/tables/{execution.id}"
            translation = translate(
                execution.query, execution.database, tables, self._snapshot_age(execution)
            )
            execution.statement_type = translation.statement_type
            execution.trino_statements = translation.statements
            self._inject_faults(execution)
            if translation.table_properties is not None:
                self._set_table_properties(*translation.table_properties)
            for statement in translation.statements:
                self._run_on_trino(execution, statement)
            view = _CREATE_VIEW.match(_strip_comments(execution.query))
            if view:
                self._write_view_columns(execution, view.group(1))
            if cutoff is not None and execution.scanned_bytes > cutoff:
                raise AthenaQueryError(
                    "EXCEEDED_BYTES_SCANNED_LIMIT",
                    f"Query exhausted resources at this scale factor: the query scanned "
                    f"{execution.scanned_bytes} bytes, over the workgroup's limit of {cutoff}",
                )
            self._write_result_file(execution)
        except UnsupportedStatement as unsupported:
            self._finish(
                execution, "FAILED", f"NOT_SUPPORTED: the local Athena cannot run {unsupported}"
            )
        except AthenaQueryError as error:
            execution.error_name = error.name
            self._finish(execution, "FAILED", str(error))
        except Exception as error:  # anything else fails the query, with its text
            self._finish(execution, "FAILED", f"INTERNAL_ERROR_QUERY_ENGINE: {error!r}")
        else:
            self._finish(execution, "SUCCEEDED")

    def _inject_faults(self, execution: Execution) -> None:
        query = " ".join(_strip_comments(execution.query).split())
        for pattern, name, message in self.faults:
            if pattern.search(query):
                raise AthenaQueryError(name, message)

    def _run_on_trino(self, execution: Execution, statement: str) -> None:
        import trino.dbapi
        from trino.exceptions import TrinoQueryError

        connection = trino.dbapi.connect(
            host=self.trino.host,
            port=self.trino.port,
            user="athena",
            catalog=GLUE_CATALOG,
            schema=execution.database,
            legacy_primitive_types=True,
            request_timeout=600,
            session_properties=ATHENA_WRITER_SESSION,
        )
        cursor = connection.cursor()
        execution.cancel = cursor.cancel
        execution.cursor = cursor
        try:
            cursor.execute(statement)  # returns once Trino has the query, with its id
            if cursor.query_id:
                execution.trino_query_ids.append(cursor.query_id)
            rows = cursor.fetchall()
            if self.record_scans and cursor.query_id:
                execution.scans += scans_of(query_info(self.trino.url, cursor.query_id))
        except TrinoQueryError as error:
            if error.query_id and error.query_id not in execution.trino_query_ids:
                execution.trino_query_ids.append(error.query_id)
            raise AthenaQueryError(error.error_name, error.message) from None
        finally:
            execution.scanned_bytes += int(cursor.stats.get("physicalInputBytes", 0) or 0)
            connection.close()
        description = cursor.description or []
        if execution.statement_type == "DML" and re.match(
            r"(insert|merge|update|delete|alter)\b", statement, re.I
        ):
            execution.update_count = int(rows[0][0]) if rows and rows[0] else 0
            return
        execution.columns = [column_info(column[0], str(column[1])) for column in description]
        execution.rows = [[render(value) for value in row] for row in rows]

    def _snapshot_age(self, execution: Execution) -> int:
        """The vacuum_max_snapshot_age_seconds set on the table a VACUUM names (with
        ``alter table ... set tblproperties``), else in its Glue parameters, else
        Athena's default."""
        vacuum = _VACUUM.match(_strip_comments(execution.query))
        if not vacuum:
            return ATHENA_VACUUM_DEFAULT_AGE_S
        parts = [part.strip('"`') for part in vacuum.group(1).split(".")]
        database, table = (parts[-2] if len(parts) > 1 else execution.database), parts[-1]
        age = self.table_properties.get((database, table), {}).get(
            "vacuum_max_snapshot_age_seconds"
        )
        if age is None:
            found = self.service.glue.get_table(DatabaseName=database, Name=table)["Table"]
            age = found.get("Parameters", {}).get("vacuum_max_snapshot_age_seconds")
        return int(age) if age else ATHENA_VACUUM_DEFAULT_AGE_S

    def _write_view_columns(self, execution: Execution, name: str) -> None:
        parts = [part.strip('"`') for part in name.split(".")]
        database, view = (parts[-2] if len(parts) > 1 else execution.database), parts[-1]
        probe = Execution("describe", "describe", database, execution.work_group, "")
        probe.statement_type = "UTILITY"
        self._run_on_trino(probe, f'describe "{database}"."{view}"')
        columns = [{"Name": row[0], "Type": hive_type(str(row[1]))} for row in probe.rows]
        glue = self.service.glue
        current = glue.get_table(DatabaseName=database, Name=view)["Table"]
        table_input = {k: v for k, v in current.items() if k in TABLE_INPUT_KEYS}
        table_input["StorageDescriptor"] = {**current["StorageDescriptor"], "Columns": columns}
        glue.update_table(DatabaseName=database, TableInput=table_input)

    def _set_table_properties(self, database: str, table: str, pairs: dict[str, str]) -> None:
        # Remembered too: the engine's next Iceberg commit writes Glue's parameters anew.
        self.table_properties.setdefault((database, table), {}).update(pairs)
        glue = self.service.glue
        current = glue.get_table(DatabaseName=database, Name=table)["Table"]
        table_input = {k: v for k, v in current.items() if k in TABLE_INPUT_KEYS}
        table_input["Parameters"] = {**current.get("Parameters", {}), **pairs}
        glue.update_table(DatabaseName=database, TableInput=table_input)

    def _write_result_file(self, execution: Execution) -> None:
        """The result in the output location, as Athena leaves it: CSV with a header for a
        query, plain lines for DDL."""
        buffer = io.StringIO()
        if execution.statement_type == "DML":
            writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
            if execution.columns:
                writer.writerow(column["Name"] for column in execution.columns)
            writer.writerows(["" if v is None else v for v in row] for row in execution.rows)
        else:
            for row in execution.rows:
                buffer.write("\t".join("" if v is None else v for v in row) + "\n")
        bucket, _, key = execution.result_uri.removeprefix("s3://").partition("/")
        self.service.s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().encode())

    def _results(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._execution(request)
        if execution.state != "SUCCEEDED":
            raise InvalidRequest(
                f"Query has not yet finished. Current state: {execution.state}"
                if execution.state in ("QUEUED", "RUNNING")
                else f"{execution.reason} (query {execution.id} is {execution.state})"
            )
        header = (
            [[column["Name"] for column in execution.columns]]
            if execution.statement_type == "DML" and execution.columns
            else []
        )
        rows = header + execution.rows
        start = (
            int(base64.b64decode(request["NextToken"]).decode()) if request.get("NextToken") else 0
        )
        size = min(int(request.get("MaxResults", RESULTS_PAGE)), RESULTS_PAGE)
        page = rows[start : start + size]
        answer: dict[str, Any] = {
            "UpdateCount": execution.update_count,
            "ResultSet": {
                "Rows": [
                    {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                    for row in page
                ],
                "ResultSetMetadata": {"ColumnInfo": execution.columns},
            },
        }
        if start + size < len(rows):
            answer["NextToken"] = base64.b64encode(str(start + size).encode()).decode()
        return answer


def submitted_at(execution: Execution) -> datetime:
    return datetime.fromtimestamp(execution.submitted_at, UTC)
