"""One refresh: list what is new, stage it privately, commit it to the live database in one go.

Phases, and who can see what:
1. Under the refresh lock (one refresh at a time), list every source and drop the objects the
   manifest already holds (same key and etag/size).
2. Stage: fetch, inflate, split and flatten the new objects in a private DuckDB file. The live
   database is untouched, so readers keep reading and a crash here loses nothing.
3. Commit: open the live file, copy the staged rows in, attribute, deduplicate, record the
   manifest and the load, all in one transaction. A crash here rolls back to the last commit.
4. Only then acknowledge SQS messages and remove the staging file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import sys
import time
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb
import polars as pl

from pipelines import bounce_logs, store
from pipelines import config as config_mod
from pipelines import directory as directory_mod
from pipelines import records as records_mod
from pipelines.alerts import record_transitions
from pipelines.classify import classify
from pipelines.config import Attribution
from pipelines.policy import Policy
from pipelines.progress import Progress
from pipelines.sources import ObjectRef, Source

_FIREHOSE_HOUR = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/\d{2}/")


class RefreshLocked(RuntimeError):
    """Another refresh holds the lock."""


class _CommitOutOfMemory(RuntimeError):
    """DuckDB ran out of its memory limit inside the commit's transaction, which was rolled back."""


@dataclass
class RefreshSummary:
    load_id: int | None = None
    objects_seen: int = 0
    objects_new: int = 0
    objects_failed: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    records_duplicate: int = 0
    facts_new: int = 0
    directory_loaded: bool = False
    seconds: float = 0.0
    # How long the live database was held for writing: the longest a reader can be kept waiting.
    commit_seconds: float = 0.0
    committed: bool = False
    alerts: int = 0
    notes: list[str] = field(default_factory=list)
    alert_rows: list[dict] = field(default_factory=list)

    def line(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k not in ("notes", "alert_rows")}
        fields["seconds"] = f"{self.seconds:.2f}"
        fields["commit_seconds"] = f"{self.commit_seconds:.2f}"
        return " ".join(f"{k}={v}" for k, v in fields.items())


@contextmanager
def refresh_lock(db_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Advisory lock next to the database; the OS releases it if the holder dies."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db_path.with_name(db_path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise RefreshLocked(
                        f"another refresh is running (pid {holder}); this one exits without "
                        "changes. Rerun later, or pass --wait SECONDS to queue behind it."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def refresh(
    db_path: Path,
    sources: list[Source],
    directory: Path | None = None,
    attribution: Attribution | None = None,
    max_object_bytes: int = 2 * 1024**3,
    wait_seconds: float = 0.0,
    quiet: bool = False,
    policy: Policy | None = None,
    memory_limit: str | None = config_mod.RefreshConfig.memory_limit,
) -> RefreshSummary:
    with refresh_lock(db_path, wait_seconds):
        return _refresh_locked(db_path, sources, directory, attribution or Attribution(),
                               max_object_bytes, quiet, policy, memory_limit)


def _refresh_locked(db_path: Path, sources: list[Source], directory: Path | None,
                    attribution: Attribution, max_object_bytes: int, quiet: bool,
                    policy: Policy | None = None, memory_limit: str | None = None) -> RefreshSummary:
    started = time.monotonic()
    summary = RefreshSummary()
    known, next_load_id, aggregates_missing = _manifest(db_path)
    summary.load_id = next_load_id
    listed: list[tuple[Source, ObjectRef]] = []
    redelivered: list[tuple[Source, ObjectRef]] = []
    for source in sources:
        for ref in source.list():
            summary.objects_seen += 1
            if (ref.source, ref.key, ref.etag) in known:
                redelivered.append((source, ref))
            else:
                listed.append((source, ref))
    summary.objects_new = len(listed)
    # Named after the database: two databases in one folder must not clear each other's staging.
    staging_dir = db_path.parent / ".staging" / f"{db_path.name}-load-{next_load_id}-{os.getpid()}"
    _clear_stale_staging(db_path.parent / ".staging", f"{db_path.name}-load-")
    staging_dir.mkdir(parents=True, exist_ok=True)
    stager = None
    try:
        progress = Progress(len(listed), quiet=quiet)
        stager = Stager(staging_dir, next_load_id, max_object_bytes, attribution, memory_limit)
        if directory is not None:
            stager.stage_directory(directory)
        # A database from before an aggregate table existed builds it now, even with nothing new.
        if not listed and directory is None and not aggregates_missing:
            _acknowledge(redelivered)
            summary.seconds = time.monotonic() - started
            summary.notes.append("nothing new")
            return summary
        for source, ref in listed:
            stager.add(source, ref)
            progress.advance(1, ref.size)
        progress.done()
        progress.stage(f"parsing {len(listed)} new objects ...")
        staged = stager.build()
        progress.stage(
            f"staged {staged['records']} records, {staged['quarantined']} quarantined; committing ..."
        )
        summary.objects_failed = staged["objects_failed"]
        summary.records_loaded = staged["records"]
        summary.records_quarantined = staged["quarantined"]
        summary.directory_loaded = directory is not None
        commit_started = time.monotonic()
        _commit_within_memory(db_path, stager, summary, staged["fact_rows"], started, policy,
                              memory_limit)
        summary.commit_seconds = time.monotonic() - commit_started
    finally:
        if stager is not None:
            stager.close()
        shutil.rmtree(staging_dir, ignore_errors=True)
    _acknowledge(listed + redelivered)
    summary.seconds = time.monotonic() - started
    return summary


def rebuild(db_path: Path, quiet: bool = False,
            memory_limit: str | None = config_mod.RefreshConfig.memory_limit) -> RefreshSummary:
    """Rebuild every fact from the raw objects the database holds, into a new file swapped in whole.

    For a changed view or parsing rule. The directory snapshot is carried over; the refresh lock
    is held throughout so no refresh commits into the file being replaced.
    """
    from pipelines.sources import RawObjectsSource

    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}")
    new = db_path.with_name(db_path.name + ".rebuild")
    for leftover in (new, new.with_name(new.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with refresh_lock(db_path):
        with store.writer(new) as con:
            store.create_schema(con)
            con.execute("attach ? as old (read_only)", [str(db_path)])
            for table in ("dir_portals", "dir_users", "dir_batches", "_directory_loads"):
                con.execute(f"insert into {table} select * from old.{table}")
            con.execute("detach old")
        summary = _refresh_locked(new, [RawObjectsSource(db_path)], None, Attribution(),
                                  2 * 1024**3, quiet, memory_limit=memory_limit)
        with store.writer(new) as con:
            # Status history belongs to the database, not to the parse: carry it over.
            con.execute("attach ? as old (read_only)", [str(db_path)])
            old_tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'old'").fetchall()}
            for table in ("_alerts", "_portal_status"):
                if table in old_tables:  # a database older than status history has none to carry
                    con.execute(f"delete from {table}")
                    con.execute(f"insert into {table} select * from old.{table}")
            con.execute("detach old")
        os.replace(new, db_path)
    return summary


def _acknowledge(pairs: list[tuple[Source, ObjectRef]]) -> None:
    """After the commit: a failure here must not report the committed load as failed. An SQS
    message left undeleted comes back and the manifest skips it."""
    by_source: dict[int, tuple[Source, list[ObjectRef]]] = {}
    for source, ref in pairs:
        by_source.setdefault(id(source), (source, []))[1].append(ref)
    for source, refs in by_source.values():
        try:
            source.acknowledge(refs)
        except Exception as exc:
            print(f"warning: could not acknowledge {len(refs)} object(s) of {source.name}: {exc}",
                  file=sys.stderr)


def _clear_stale_staging(folder: Path, prefix: str) -> None:
    """Staging left by a killed refresh of this database is garbage: its load never committed."""
    if folder.exists():
        for child in folder.iterdir():
            if child.name.startswith(prefix):
                shutil.rmtree(child, ignore_errors=True)


def _manifest(db_path: Path) -> tuple[set[tuple[str, str, str]], int, bool]:
    """Objects already loaded, the next load id, and whether the aggregates need a rebuild."""
    if not db_path.exists():
        return set(), 1, False
    with store.reader(db_path, views=False) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if "_ingest_objects" not in tables:
            return set(), 1, False
        rows = con.execute(
            "select source, object_key, etag from _ingest_objects"
        ).fetchall()
        last = con.execute("select coalesce(max(load_id), 0) from _loads").fetchall()[0][0]
        stale = _aggregates_stale(con, tables) and con.execute(
            "select count(*) > 0 from fct_recipient_events").fetchall()[0][0]
    return {(s, k, e or "") for s, k, e in rows}, last + 1, stale


# Tables kept equal to a view by refresh_aggregates.sql, and the files that define them.
_AGGREGATES = ("fct_recipient_outcomes", "fct_address_facts")
_AGGREGATE_DEFINITIONS = ("int_recipient_outcomes_for.sql", "int_address_facts_for.sql")


def aggregate_definition_hash() -> str:
    digest = hashlib.sha256()
    for name in _AGGREGATE_DEFINITIONS:
        digest.update((store.SCOPED_QUERIES_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def _aggregates_stale(con, tables: set[str] | None = None) -> bool:
    """An aggregate table is missing or empty (a database from before it existed), or was built by
    another definition: then the next commit rebuilds them all rather than mixing two rules."""
    if tables is None:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    if any(name not in tables for name in (*_AGGREGATES, "_aggregate_definitions")):
        return True
    if any(con.execute(f"select count(*) = 0 from {name}").fetchall()[0][0] for name in _AGGREGATES):
        return True
    built = con.execute(
        "select max_by(definition_hash, built_at) from _aggregate_definitions").fetchall()[0][0]
    return built != aggregate_definition_hash()


class Stager:
    """Builds one load in a private DuckDB file: staged records, quarantine, facts, manifest."""

    def __init__(self, folder: Path, load_id: int, max_object_bytes: int,
                 attribution: Attribution, memory_limit: str | None = None) -> None:
        self.folder = folder
        self.attribution = attribution
        self.log_bounces: list[bounce_logs.LogBounce] = []
        self.load_id = load_id
        self.max_object_bytes = max_object_bytes
        self.db_path = folder / "staging.duckdb"
        self.files: list[dict] = []  # objects to read with DuckDB
        self.objects: list[dict] = []  # manifest rows
        self.rejects: list[dict] = []  # object-level quarantine rows
        self.fallback_rows: list[dict] = []  # records split by Python from objects DuckDB refused
        self.raw: list[dict] = []  # objects as received, flushed to raw_objects in batches
        self._raw_bytes = 0
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._pending: deque[tuple[ObjectRef, dict, bytes, Future[_Inflated]]] = deque()
        self.con = duckdb.connect(str(self.db_path))
        store.configure(self.con, memory_limit)
        store.create_schema(self.con, staging=True)

    def close(self) -> None:
        """Idempotent; a failed refresh waits here for objects still inflating into the folder."""
        self._pool.shutdown(cancel_futures=True)
        self.con.close()

    def stage_directory(self, folder: Path) -> None:
        directory_mod.stage_directory(self.con, folder)

    def add(self, source: Source, ref: ObjectRef) -> None:
        manifest = {
            "source": ref.source, "object_key": ref.key, "etag": ref.etag, "size_bytes": ref.size,
            "load_id": self.load_id, "status": "ok", "records": 0, "quarantined": 0, "error": None,
        }
        self.objects.append(manifest)
        # Read errors propagate: a source that cannot be read fails the refresh before any commit.
        data = source.read(ref)
        self.raw.append({"load_id": self.load_id, "source": ref.source, "object_key": ref.key,
                         "etag": ref.etag, "received_date": _received_date(ref.key), "data": data})
        self._raw_bytes += len(data)
        if self._raw_bytes > 64 * 1024**2:
            self._flush_raw()
        # Inflating and writing release the GIL: the next objects are read while these run.
        path = self.folder / f"{len(self.objects):06d}.json"
        job = self._pool.submit(_inflate, data, self.max_object_bytes, path)
        self._pending.append((ref, manifest, data[:80], job))
        while len(self._pending) > _INFLATE_AHEAD:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        ref, manifest, head, job = self._pending.popleft()
        try:
            inflated = job.result()
        except (records_mod.ObjectTooLarge, ValueError, zlib.error, EOFError) as exc:
            manifest.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            self.rejects.append(self._object_reject(ref, f"unreadable object: {exc}", head))
            return
        if inflated.plain is not None:
            plain = inflated.plain
            rows, rejects = bounce_logs.mail_bounces(ref.source, ref.key, plain, self.attribution) \
                if inflated.kind == "mail" else bounce_logs.csv_bounces(ref.source, ref.key, plain)
            self.log_bounces.extend(rows)
            self.rejects.extend({
                "load_id": self.load_id, "source": ref.source, "object_key": ref.key,
                "record_index": r.record_index, "byte_offset": None, "reason": r.reason, "excerpt": r.excerpt,
            } for r in rejects)
            return
        self.files.append({
            "filename": str(inflated.path), "source": ref.source, "object_key": ref.key,
            "received_date": _received_date(ref.key), "manifest": manifest, "bytes": inflated.size,
        })

    def _flush_raw(self) -> None:
        raw = pl.DataFrame(self.raw, schema=_RAW_SCHEMA)  # noqa: F841
        self.con.execute("insert into raw_objects select * from raw")
        self.raw, self._raw_bytes = [], 0

    def _object_reject(self, ref: ObjectRef, reason: str, data: bytes) -> dict:
        return {
            "load_id": self.load_id, "source": ref.source, "object_key": ref.key,
            "record_index": None, "byte_offset": None, "reason": reason,
            "excerpt": data[:80].decode("utf-8", errors="replace"),
        }

    def build(self) -> dict[str, int]:
        while self._pending:
            self._finish_oldest()
        self._pool.shutdown()
        con = self.con
        if self.raw:
            self._flush_raw()
        if self.files:
            files = pl.DataFrame(  # noqa: F841
                [{k: f[k] for k in ("filename", "source", "object_key", "received_date")}
                 for f in self.files],
                schema={"filename": pl.String, "source": pl.String, "object_key": pl.String,
                        "received_date": pl.Date},
            )
            con.execute("insert into staged_files select * from files")
            for batch in _batches(self.files, _PARSE_BATCH_BYTES):
                self._read_fast([f["filename"] for f in batch])
        if self.fallback_rows:
            self._stage_fallback()
        if self.rejects:
            rejects = pl.DataFrame(self.rejects, schema=_QUARANTINE_SCHEMA)  # noqa: F841
            con.execute("insert into _quarantine select * from rejects")
        if self.log_bounces:
            logs = pl.DataFrame([asdict(b) for b in self.log_bounces], schema=_LOG_SCHEMA)  # noqa: F841
            con.execute("insert into staged_log_bounces select * from logs")
        for name, value in self.attribution.as_params().items():
            con.execute(f"set variable {name} = ?", [value])
        store.apply_views(con, layers=("stg",), staging=True, materialize=True)
        store.run_script(con, "stage_defects.sql", {"load_id": self.load_id})
        store.apply_views(con, layers=("int",), staging=True, materialize=True)
        self._classify_bounces()
        store.run_script(con, "stage_facts.sql", {"load_id": self.load_id})
        self._finish_manifest()
        records = con.execute(
            "select (select count(*) from raw_ses_records) "
            "+ (select count(distinct (source, object_key, record_index)) from staged_log_bounces)"
        ).fetchall()[0][0]
        quarantined = con.execute("select count(*) from _quarantine").fetchall()[0][0]
        fact_rows, lo, hi = con.execute(
            "select coalesce(sum(copies), 0), min(sent_date), max(sent_date) from staged_facts"
        ).fetchall()[0]
        self.date_range = (lo or date(1970, 1, 1), hi or date(1970, 1, 1))
        con.execute("checkpoint")
        con.close()
        failed = sum(1 for m in self.objects if m["status"] == "failed")
        return {"records": records, "quarantined": quarantined, "fact_rows": int(fact_rows),
                "objects_failed": failed}

    def _classify_bounces(self) -> None:
        """One verdict per distinct bounce signal: far fewer than bounces, and the rules are Python."""
        combos = self.con.execute(
            """
            select distinct verdict_key, bounce_type, bounce_subtype, bounce_action, status_code, diagnostic
            from int_ses_recipient_events
            where verdict_key is not null
            """
        ).fetchall()
        verdicts = []
        for key, btype, subtype, action, status, diagnostic in combos:
            v = classify(status=status, diagnostic=diagnostic, action=action, ses_bounce_type=btype,
                         ses_bounce_subtype=subtype)
            verdicts.append({"verdict_key": key, "bounce_class": v.bounce, "reason": v.reason,
                             "status_found": v.status})
        if verdicts:
            frame = pl.DataFrame(verdicts, schema={k: pl.String for k in verdicts[0]})  # noqa: F841
            self.con.execute("insert into staged_verdicts select * from frame")

    def _read_fast(self, filenames: list[str]) -> None:
        """DuckDB reads well-formed objects in one statement; bisect to find the ones it refuses."""
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in filenames)
        self.con.execute(
            f"""
            create or replace temp view staged_json as
            select f.source, f.object_key,
                row_number() over (partition by r.filename) - 1 as record_index,
                null::bigint as byte_offset, f.received_date, r.json as j
            from read_json_objects([{listed}], format = 'auto', filename = true) as r
            join staged_files as f on f.filename = r.filename
            """
        )
        try:
            self.con.execute("begin transaction")
            store.run_script(self.con, "stage_unwrap.sql", {"load_id": self.load_id})
            self.con.execute("commit")
        except duckdb.Error:
            self.con.execute("rollback")
            if len(filenames) > 1:
                mid = len(filenames) // 2
                self._read_fast(filenames[:mid])
                self._read_fast(filenames[mid:])
            else:
                self._read_careful(next(f for f in self.files if f["filename"] == filenames[0]))

    def _stage_fallback(self) -> None:
        con = self.con
        frame = pl.DataFrame(self.fallback_rows, schema=_STAGED_JSON_SCHEMA)  # noqa: F841
        con.execute("create temp table fallback_json as select * from frame")
        # Python's JSON and DuckDB's differ at the edges (NaN, huge numbers): DuckDB decides.
        con.execute(
            "create or replace temp view staged_json as select source, object_key, record_index, "
            "byte_offset, received_date, text::json as j from fallback_json where json_valid(text)"
        )
        store.run_script(con, "stage_unwrap.sql", {"load_id": self.load_id})
        for row in con.execute(
            "select source, object_key, record_index, byte_offset, left(text, 200) from fallback_json "
            "where not json_valid(text)"
        ).fetchall():
            self.rejects.append(dict(zip(
                ("source", "object_key", "record_index", "byte_offset", "excerpt"), row, strict=True
            )) | {"load_id": self.load_id, "reason": "JSON refused by the parser"})

    def _read_careful(self, file: dict) -> None:
        data = records_mod.decompress(Path(file["filename"]).read_bytes(), self.max_object_bytes)
        good, bad = records_mod.split_records(data)
        for rec in good:
            self.fallback_rows.append({
                "source": file["source"], "object_key": file["object_key"], "record_index": rec.index,
                "byte_offset": rec.offset, "received_date": file["received_date"], "text": rec.text,
            })
        for rej in bad:
            self.rejects.append({
                "load_id": self.load_id, "source": file["source"], "object_key": file["object_key"],
                "record_index": rej.index, "byte_offset": rej.offset, "reason": rej.reason,
                "excerpt": rej.excerpt,
            })

    def _finish_manifest(self) -> None:
        counts = {
            (s, k): (loaded, bad)
            for s, k, loaded, bad in self.con.execute(
                """
                select source, object_key, sum(loaded), sum(bad) from (
                    select source, object_key, count(*) as loaded, 0 as bad
                    from raw_ses_records group by all
                    union all
                    select source, object_key, count(distinct record_index), 0
                    from staged_log_bounces group by all
                    union all
                    select source, object_key, 0, count(*) from _quarantine group by all
                ) group by all
                """
            ).fetchall()
        }
        for m in self.objects:
            loaded, bad = counts.get((m["source"], m["object_key"]), (0, 0))
            if m["status"] == "ok" and not loaded and not bad and m["size_bytes"]:
                # Bytes but not one record (only NULs, whitespace): say so rather than load nothing.
                self.con.execute(
                    "insert into _quarantine values (?, ?, ?, null, null, ?, null)",
                    [self.load_id, m["source"], m["object_key"], "object holds no records"],
                )
                bad = 1
            m["records"], m["quarantined"] = int(loaded), int(bad)
            if m["status"] == "ok" and bad:
                m["status"] = "partial" if loaded else "failed"
                m["error"] = m["error"] or f"{bad} record(s) quarantined"
        manifest = pl.DataFrame(self.objects, schema=_MANIFEST_SCHEMA)  # noqa: F841
        self.con.execute("insert into _ingest_objects select * from manifest")


def _commit_within_memory(db_path: Path, stager: Stager, summary: RefreshSummary, fact_rows: int,
                          started: float, policy: Policy | None, memory_limit: str | None) -> None:
    """`_commit`, retried with twice the memory while DuckDB runs out inside the transaction."""
    while True:
        try:
            _commit(db_path, stager, summary, fact_rows, time.monotonic() - started, policy,
                    memory_limit)
            return
        except Exception as exc:
            if summary.committed:
                # Only the checkpoint after it failed (a full disk, say): the load is durable in
                # the WAL, which DuckDB applies when the file is next opened.
                _warn(summary, f"load {stager.load_id} is committed but the checkpoint after it "
                      f"failed ({type(exc).__name__}: {exc}); it is kept in {db_path.name}.wal, "
                      "applied at the next open: keep that file beside the database")
                return
            if not isinstance(exc, _CommitOutOfMemory):
                raise
            # The commit rolled back whole. Rebuilding every aggregate (a directory load at scale)
            # can need more than a load does: retry with more rather than fail the scheduler's
            # run, up to DuckDB's own default.
            bigger = config_mod.doubled_memory_limit(memory_limit)
            if bigger is None:
                raise
            _warn(summary, f"the commit needed more than {memory_limit} of memory; retrying with {bigger}")
            memory_limit = bigger


def _warn(summary: RefreshSummary, note: str) -> None:
    """Said on stderr even with --quiet: the scheduler's log should show it."""
    print(f"warning: {note}", file=sys.stderr, flush=True)
    summary.notes.append(note)


def _commit(db_path: Path, stager: Stager, summary: RefreshSummary, fact_rows: int,
            seconds_so_far: float, policy: Policy | None = None,
            memory_limit: str | None = None) -> None:
    """Copy the staged load into the live database in one transaction; fills the summary's counts."""
    lo, hi = stager.date_range
    with_directory = summary.directory_loaded
    with store.writer(db_path, memory_limit=memory_limit) as con:
        store.create_schema(con)
        con.execute("begin transaction")
        try:
            con.execute("attach ? as stg (read_only)", [str(stager.db_path)])
            if with_directory:
                directory_mod.replace_directory(con, stager.load_id)
            store.apply_views(con)
            count_facts = "select count(*) from fct_recipient_events"
            before = con.execute(count_facts).fetchall()[0][0]
            store.run_script(con, "commit_load.sql", {"lo": lo, "hi": hi, "load_id": stager.load_id})
            if with_directory:
                store.run_script(con, "reattribute_directory.sql")
            # A directory reload can re-attribute any message, and stale aggregates were built by
            # another rule: both rebuild them whole, otherwise only what the load touched.
            everything = with_directory or _aggregates_stale(con)
            store.run_script(con, "refresh_aggregates.sql", {"everything": everything})
            if everything:
                con.execute("delete from _aggregate_definitions")
                con.execute("insert into _aggregate_definitions values (?, now())",
                            [aggregate_definition_hash()])
            summary.facts_new = con.execute(count_facts).fetchall()[0][0] - before
            summary.records_duplicate = fact_rows - summary.facts_new
            alerts = record_transitions(con, stager.load_id, policy)
            summary.alerts = alerts.height
            summary.alert_rows = alerts.to_dicts()
            con.execute("insert into _ingest_objects select * from stg._ingest_objects")
            con.execute(
                """
                insert into _loads values (
                    $load_id, now() - to_microseconds(cast($elapsed * 1e6 as bigint)), now(),
                    $sources, $seen, $new, $failed, $loaded, $quarantined, $duplicate, $facts,
                    $directory, $elapsed
                )
                """,
                {
                    "load_id": stager.load_id, "elapsed": seconds_so_far,
                    "sources": ", ".join(sorted({f["source"] for f in stager.objects})),
                    "seen": summary.objects_seen, "new": summary.objects_new,
                    "failed": summary.objects_failed, "loaded": summary.records_loaded,
                    "quarantined": summary.records_quarantined,
                    "duplicate": summary.records_duplicate, "facts": summary.facts_new,
                    "directory": with_directory,
                },
            )
            con.execute("commit")
            summary.committed = True
        except duckdb.OutOfMemoryException as exc:
            con.execute("rollback")
            raise _CommitOutOfMemory(str(exc)) from exc
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("detach stg")


# Objects inflating while the next ones are read: enough to keep both cores busy, few enough that
# their bytes stay small beside DuckDB's.
_INFLATE_AHEAD = 4


class _Inflated(NamedTuple):
    kind: str  # bounce_logs.kind_of: ses, mail or csv
    size: int  # inflated bytes
    path: Path | None  # an SES export, written for DuckDB to read
    plain: bytes | None  # a bounce log, inflated, for Python to read


def _inflate(data: bytes, limit: int, path: Path) -> _Inflated:
    """Inflate an object and tell what it holds. An SES export goes to `path`, still compressed
    when DuckDB can inflate it itself (an eighth of the bytes to write)."""
    plain, readable_gzip = records_mod.inflate(data, limit)
    kind = bounce_logs.kind_of(plain)
    if kind != "ses":
        return _Inflated(kind, len(plain), None, plain)
    if readable_gzip:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(data)
    else:
        path.write_bytes(plain)
    return _Inflated(kind, len(plain), path, None)


# Objects are parsed a few hundred MB at a time: one statement's working set (the records of
# every object in it, numbered per object) stays bounded however large the load.
_PARSE_BATCH_BYTES = 512 * 1024**2


def _batches(files: list[dict], limit: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    size = 0
    for file in files:
        if batch and size + file["bytes"] > limit:
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file["bytes"]
    if batch:
        yield batch


def _received_date(key: str) -> date | None:
    m = _FIREHOSE_HOUR.search(key)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_STAGED_JSON_SCHEMA = {
    "source": pl.String, "object_key": pl.String, "record_index": pl.Int64,
    "byte_offset": pl.Int64, "received_date": pl.Date, "text": pl.String,
}
_LOG_SCHEMA = {
    "source": pl.String, "object_key": pl.String, "record_index": pl.Int64, "recipient": pl.String,
    "event_at": pl.Datetime("us", "UTC"), "sent_at": pl.Datetime("us", "UTC"), "message_id": pl.String,
    "bounce_class": pl.String, "reason": pl.String, "status_code": pl.String, "diagnostic": pl.String,
    "action": pl.String, "reporting_mta": pl.String, "portal_id": pl.String,
    "upload_batch_id": pl.String, "message_type": pl.String, "attribution": pl.String,
}
_RAW_SCHEMA = {
    "load_id": pl.Int64, "source": pl.String, "object_key": pl.String, "etag": pl.String,
    "received_date": pl.Date, "data": pl.Binary,
}
_QUARANTINE_SCHEMA = {
    "load_id": pl.Int64, "source": pl.String, "object_key": pl.String, "record_index": pl.Int64,
    "byte_offset": pl.Int64, "reason": pl.String, "excerpt": pl.String,
}
_MANIFEST_SCHEMA = {
    "source": pl.String, "object_key": pl.String, "etag": pl.String, "size_bytes": pl.Int64,
    "load_id": pl.Int64, "status": pl.String, "records": pl.Int64, "quarantined": pl.Int64,
    "error": pl.String,
}
