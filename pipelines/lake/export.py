"""The lake: the fact tables and the directory as Parquet, partitioned by send date, exported incrementally.

`export_lake(db, target)` writes, under a folder or `s3://bucket/prefix`:

    _manifest.json                                             what the lake holds, written last
    fct_recipient_events/sent_date=2026-11-20/part-0.parquet   one file per send date (no send time:
    fct_recipient_outcomes/sent_date=.../part-0.parquet          sent_date=__HIVE_DEFAULT_PARTITION__)
    fct_address_facts/part-0.parquet                           one file each: no send date to split by
    dir_portals/part-0.parquet, dir_users/..., dir_batches/...

Incremental: the next export rewrites only the partitions the loads since the last one touched (from the
load ids the events carry: queries/lake/touched_partitions.sql) or whose row count moved, and the address
facts when any fact changed; it rewrites everything after a directory load, an erasure, a whole rebuild
of the incremental tables, a rebuilt or other database, or a table whose columns changed.

Atomic per partition: each file is written aside (a staging folder), then swapped in whole (`os.replace`,
or an S3 upload, which replaces an object whole). The manifest is written last (temp + replace), and only
then are the files it no longer names removed: a crash at any point leaves the old manifest naming files
that are all there, each the old one or a newer complete one. The export's state is recorded in the
database (`_lake_exports`) after the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import duckdb

from pipelines import config, warehouse
from pipelines.warehouse import catalog

MANIFEST = "_manifest.json"
FORMAT, VERSION = "bouncedesk-lake", 1
PART = "part-0.parquet"
PARTITION_COLUMN = "sent_date"
# The folder name of rows with no send time: what Hive, Spark and DuckDB all read back as null.
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Partitioned by send date: the facts every rate window reads by the day they were sent.
PARTITIONED = ("fct_recipient_events", "fct_recipient_outcomes")
# One file each. The address facts are per (portal, address) over the whole history, so no send date;
# rewritten whole whenever a fact changed (16 MB at 1 M sends: a fraction of a second), which keeps the
# reader's registration one file. The directory is small and changes only by a directory load.
WHOLE = ("fct_address_facts", "dir_portals", "dir_users", "dir_batches")
TABLES = PARTITIONED + WHOLE
_FOLLOWS_FACTS = ("fct_address_facts",)


@dataclass
class LakeExport:
    """What one export did; `line()` is its one summary line."""

    target: str
    load_id: int
    full: bool
    reason: str
    tables: int = len(TABLES)
    partitions_written: int = 0
    partitions_kept: int = 0
    partitions_removed: int = 0
    rows: int = 0  # rows written by this export
    bytes: int = 0  # bytes written by this export
    seconds: float = 0.0

    def line(self) -> str:
        return (f"tables={self.tables} partitions_written={self.partitions_written} "
                f"partitions_kept={self.partitions_kept} rows={self.rows} bytes={self.bytes} "
                f"seconds={self.seconds:.2f} load_id={self.load_id} "
                f"partitions_removed={self.partitions_removed} full={str(self.full).lower()}")


class Lake(Protocol):
    """Where the lake is: a folder or an S3 prefix. Paths are relative to the lake's root."""

    name: str

    def read_manifest(self) -> bytes | None: ...

    def staging(self) -> Any: ...  # a context manager yielding a local folder to write into

    def publish(self, staged: Path, rel: str) -> None: ...

    def write_manifest(self, data: bytes) -> None: ...

    def files(self, table: str) -> list[str]: ...

    def remove(self, rel: str) -> None: ...


class LocalLake:
    """A folder. Staging is a hidden folder inside it, so every swap is a rename on one file system."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        self.name = str(self.root)

    def read_manifest(self) -> bytes | None:
        try:
            return (self.root / MANIFEST).read_bytes()
        except FileNotFoundError:
            return None

    @contextmanager
    def staging(self) -> Iterator[Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        # Left by a killed export: the refresh lock is ours, so no other export is writing there.
        for stale in self.root.glob(".export-*"):
            shutil.rmtree(stale, ignore_errors=True)
        folder = self.root / f".export-{os.getpid()}"
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, staged: Path, rel: str) -> None:
        dest = self.root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        _fsync(staged)  # the rename must not reach the disk before the bytes it names
        os.replace(staged, dest)

    def write_manifest(self, data: bytes) -> None:
        tmp = self.root / f".{MANIFEST}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        _fsync(tmp)
        os.replace(tmp, self.root / MANIFEST)

    def files(self, table: str) -> list[str]:
        folder = self.root / table
        return sorted(p.relative_to(self.root).as_posix() for p in folder.rglob("*") if p.is_file())

    def remove(self, rel: str) -> None:
        path = self.root / rel
        path.unlink(missing_ok=True)
        if path.parent.parent != self.root and not any(path.parent.iterdir()):
            path.parent.rmdir()  # an emptied partition folder: Spark would read it as an empty partition


class S3Lake:
    """s3://bucket/prefix through boto3 with the standard AWS settings (any endpoint via AWS_ENDPOINT_URL).
    Files are written locally by DuckDB and uploaded: an object is replaced whole, never seen half-written."""

    def __init__(self, url: str, client=None) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an S3 URL (want s3://bucket/prefix): {url}")
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        self.name = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from pipelines.ingest.sources import aws_client

            self._client = aws_client("s3")
        return self._client

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def read_manifest(self) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(MANIFEST))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    @contextmanager
    def staging(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="bouncedesk-lake-") as folder:
            yield Path(folder)

    def publish(self, staged: Path, rel: str) -> None:
        self.client.upload_file(str(staged), self.bucket, self._key(rel))

    def write_manifest(self, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(MANIFEST), Body=data,
                               ContentType="application/json")

    def files(self, table: str) -> list[str]:
        start = len(self._key(""))
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(f"{table}/"))
        return sorted(obj["Key"][start:] for page in pages for obj in page.get("Contents", []))

    def remove(self, rel: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(rel))


def open_lake(target: str) -> Lake:
    """A folder, or `s3://bucket/prefix`."""
    if "://" in target:
        return S3Lake(target)
    return LocalLake(target)


def export_lake(db: Path, target: str, quiet: bool = True, wait_seconds: float = 0.0,
                memory_limit: str | None = config.RefreshConfig.memory_limit) -> LakeExport:
    """Export the database's facts and directory to the lake at `target`; see the module's docstring.

    Holds the refresh lock throughout (waiting up to `wait_seconds`, else RefreshLocked), so no load
    commits between what it reads and the state it records, and two exports never interleave. DuckDB
    works within `memory_limit`, as a refresh does (a partitioned write buffers every partition; past
    it, disk)."""
    started = time.monotonic()
    if not db.exists():
        raise warehouse.DatabaseMissing(f"no database at {db}")
    lake = open_lake(target)
    with warehouse.refresh_lock(db, wait_seconds):
        old = parse_manifest(lake.read_manifest())
        with warehouse.reader(db, views=False) as con:
            state = _row(con, "lake/database_state.sql", {})
            last = _last_export(con, lake.name)
            since, reason = plan(state, last, old)
            result = LakeExport(lake.name, state["load_id"], since is None, reason)
            _say(quiet, f"lake: {lake.name}: {reason}")
            columns = _columns(con)
            touched = _touched(con, since)
            with lake.staging() as staging:
                warehouse.configure(con, memory_limit)
                # Spill beside the files being written, not into the working directory.
                con.execute("set temp_directory = ?", [str(staging / "spill")])
                tables = {}
                facts_changed = False
                for table in PARTITIONED:
                    tables[table], changed = _export_partitioned(
                        con, lake, staging, table, columns[table], since, touched.get(table, set()), old,
                        result, quiet)
                    facts_changed = facts_changed or changed
                for table in WHOLE:
                    rewrite = since is None or (table in _FOLLOWS_FACTS and facts_changed)
                    tables[table] = _export_whole(con, lake, staging, table, columns[table], since,
                                                  rewrite, old, result, quiet)
        manifest = {
            "format": FORMAT, "version": VERSION, "load_id": state["load_id"],
            "lineage": _iso(state["lineage"]), "exported_at": _iso(datetime.now(UTC)),
            "partition_column": PARTITION_COLUMN, "null_partition": NULL_PARTITION, "tables": tables,
        }
        lake.write_manifest(json.dumps(manifest, indent=1).encode())
        named = {p["path"] for spec in tables.values() for p in spec["partitions"]}
        for table in TABLES:  # after the manifest: until it is in place, the old one may name them
            for rel in lake.files(table):
                if rel not in named:
                    lake.remove(rel)
                    result.partitions_removed += 1
        result.seconds = time.monotonic() - started
        with warehouse.writer(db) as con:
            catalog.create_schema(con)  # a database from before _lake_exports gains it
            catalog.run_script(con, "lake/record_export.sql", {
                "target": lake.name, "load_id": state["load_id"], "lineage": state["lineage"],
                "erasures": state["erasures"], "aggregates_built_at": state["aggregates_built_at"],
                "full_export": result.full, "partitions_written": result.partitions_written,
                "partitions_kept": result.partitions_kept, "rows_written": result.rows,
                "bytes_written": result.bytes, "seconds": result.seconds,
            })
    _say(quiet, f"lake: manifest at load {result.load_id}: {result.partitions_written} partitions written, "
                f"{result.partitions_kept} kept, {result.partitions_removed} removed")
    return result


def plan(state: dict, last: dict | None, old: dict | None) -> tuple[int | None, str]:
    """The load id after which changes are exported, or None (everything), with the reason in words.

    `state`: the database now (queries/lake/database_state.sql); `last`: its record of the last export
    to this target; `old`: the lake's manifest. Both must agree it is this database's lake; a crash
    between the manifest and the record leaves the record older, so the older of the two load ids wins.
    """
    if old is None:
        return None, "full export: no manifest in the lake yet"
    if last is None:
        return None, "full export: this database recorded no export to this lake (a new lake, or a rebuild)"
    lineage = _iso(state["lineage"])
    if _iso(last["lineage"]) != lineage or old.get("lineage") != lineage:
        return None, "full export: the lake holds another database's loads (or those before a rebuild)"
    since = min(last["load_id"], old["load_id"])
    if since > state["load_id"]:
        return None, "full export: the lake is ahead of the database"
    if state["directory_load_id"] > since:
        return None, "full export: a directory load since the last export"
    if state["erasures"] != last["erasures"]:
        return None, "full export: an erasure since the last export"
    if state["aggregates_built_at"] != last["aggregates_built_at"]:
        return None, "full export: the incremental tables were rebuilt whole since the last export"
    return since, f"incremental since load {since}"


def _export_partitioned(con: duckdb.DuckDBPyConnection, lake: Lake, staging: Path, table: str,
                        columns: list[dict], since: int | None, touched: set, old: dict | None,
                        result: LakeExport, quiet: bool) -> tuple[dict, bool]:
    """Rewrite the partitions of `table` that changed; its manifest entry, and whether any changed."""
    now = {_value(d): n for d, n in _query(con, "lake/partition_rows.sql", {"table": table}).fetchall()}
    before = _old_entries(old, table, columns, since)
    touched_values = {_value(d) for d in touched}
    if before is None:
        write = set(now)
    else:
        # Touched by a load, new, or with another row count (a load or an erasure deleted rows there).
        write = {v for v, n in now.items()
                 if v in touched_values or v not in before or before[v]["rows"] != n}
    entries = {v: before[v] for v in now if before is not None and v not in write}
    if write:
        _say(quiet, f"lake: {table}: writing {len(write)} of {len(now)} partitions")
        folder = staging / table
        catalog.run_script(con, "lake/write_partitions.sql", {
            "table": table, "dates": sorted(v for v in write if v is not None),
            "with_null": None in write, "path": str(folder),
        })
        for value in sorted(write, key=lambda v: (v is None, v or "")):
            part = folder / _folder(value)
            files = sorted(part.glob("*.parquet"))
            if len(files) != 1:  # DuckDB may write a partition as one file per thread
                for f in files:
                    f.unlink()
                part.mkdir(parents=True, exist_ok=True)
                catalog.run_script(con, "lake/write_partition.sql", {
                    "table": table, "sent_date": value, "path": str(part / PART)})
                files = [part / PART]
            rel = f"{table}/{_folder(value)}/{PART}"
            size = files[0].stat().st_size
            lake.publish(files[0], rel)
            entries[value] = {"value": value, "path": rel, "rows": now[value], "bytes": size,
                              "load_id": result.load_id}
            result.partitions_written += 1
            result.rows += now[value]
            result.bytes += size
    result.partitions_kept += len(now) - len(write)
    partitions = [entries[v] for v in sorted(entries, key=lambda v: (v is None, v or ""))]
    changed = before is None or bool(write) or bool(set(before) - set(now))
    return _table_spec(PARTITION_COLUMN, columns, partitions), changed


def _export_whole(con: duckdb.DuckDBPyConnection, lake: Lake, staging: Path, table: str,
                  columns: list[dict], since: int | None, rewrite: bool, old: dict | None,
                  result: LakeExport, quiet: bool) -> dict:
    before = _old_entries(old, table, columns, since)
    if not rewrite and before is not None and None in before:
        result.partitions_kept += 1
        return _table_spec(None, columns, [before[None]])
    _say(quiet, f"lake: {table}: writing")
    staged = staging / table / PART
    staged.parent.mkdir(parents=True, exist_ok=True)
    [(rows,)] = _query(con, "lake/write_table.sql", {"table": table, "path": str(staged)}).fetchall()
    rel = f"{table}/{PART}"
    size = staged.stat().st_size
    lake.publish(staged, rel)
    result.partitions_written += 1
    result.rows += rows
    result.bytes += size
    return _table_spec(None, columns, [{"path": rel, "rows": rows, "bytes": size, "load_id": result.load_id}])


def _table_spec(partition_by: str | None, columns: list[dict], partitions: list[dict]) -> dict:
    return {"partition_by": partition_by, "columns": columns,
            "rows": sum(p["rows"] for p in partitions), "bytes": sum(p["bytes"] for p in partitions),
            "partitions": partitions}


def _old_entries(old: dict | None, table: str, columns: list[dict], since: int | None) -> dict | None:
    """The manifest's partitions of `table` by value (None for a table exported whole, or the null
    partition), or None when they cannot be kept: a full export, or the table's columns changed."""
    spec = (old or {}).get("tables", {}).get(table)
    if since is None or spec is None or spec.get("columns") != columns:
        return None
    return {p.get("value"): p for p in spec["partitions"]}


def _touched(con: duckdb.DuckDBPyConnection, since: int | None) -> dict[str, set]:
    if since is None:
        return {}
    out: dict[str, set] = {}
    for table, sent_date in _query(con, "lake/touched_partitions.sql", {"since": since}).fetchall():
        out.setdefault(table, set()).add(sent_date)
    return out


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in TABLES}
    for table, name, kind in _query(con, "lake/columns.sql", {"tables": list(TABLES)}).fetchall():
        out[table].append({"name": name, "type": kind})
    return out


def _last_export(con: duckdb.DuckDBPyConnection, target: str) -> dict | None:
    try:
        return _row(con, "lake/last_export.sql", {"target": target})
    except duckdb.CatalogException:  # a database from before _lake_exports: never exported
        return None


def _query(con: duckdb.DuckDBPyConnection, path: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Run the one statement of queries/<path>, binding the parameters it names."""
    text = catalog.sql(path)
    return con.execute(text, catalog.bound(text, params))


def _row(con: duckdb.DuckDBPyConnection, path: str, params: dict) -> dict | None:
    cur = _query(con, path, params)
    row = cur.fetchone()
    return None if row is None else dict(zip([d[0] for d in cur.description], row, strict=True))


def parse_manifest(data: bytes | None) -> dict | None:
    """The lake's manifest, or None when there is none this code wrote (then everything is rewritten)."""
    if data is None:
        return None
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict):
        return None
    return manifest if (manifest.get("format"), manifest.get("version")) == (FORMAT, VERSION) else None


def _folder(value: str | None) -> str:
    return f"{PARTITION_COLUMN}={NULL_PARTITION if value is None else value}"


def _value(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
