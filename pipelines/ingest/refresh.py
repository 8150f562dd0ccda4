"""One refresh: list what is new, stage it privately, commit it to the live database in one go.

Phases, and who can see what:
1. Under the refresh lock (one refresh at a time), list every source and drop the objects the
   manifest already holds (same key and etag/size).
2. Stage: fetch, inflate, split and flatten the new objects in a private DuckDB database (in
   memory for a small load, a file in a staging folder for a large one). The live database is
   untouched, so readers keep reading and a crash here loses nothing.
3. Commit: attach the live file to the staging connection, copy the staged rows in, attribute,
   deduplicate, record the manifest and the load, all in one transaction. A crash here rolls back
   to the last commit.
4. Only then acknowledge SQS messages and remove the staging file.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from pipelines import config, warehouse
from pipelines.config import Attribution
from pipelines.ingest.commit import aggregates_stale, commit_within_memory
from pipelines.ingest.progress import Progress
from pipelines.ingest.sources import ObjectRef, RawObjectsSource, Source
from pipelines.ingest.stage import Stager
from pipelines.ingest.summary import RefreshSummary
from pipelines.reports.policy import Policy
from pipelines.warehouse import catalog, raw_store


def refresh(
    db_path: Path,
    sources: list[Source],
    directory: Path | None = None,
    attribution: Attribution | None = None,
    max_object_bytes: int = 2 * 1024**3,
    wait_seconds: float = 0.0,
    quiet: bool = False,
    policy: Policy | None = None,
    memory_limit: str | None = config.RefreshConfig.memory_limit,
) -> RefreshSummary:
    with warehouse.refresh_lock(db_path, wait_seconds):
        return _refresh_locked(db_path, sources, directory, attribution or Attribution(),
                               max_object_bytes, quiet, policy, memory_limit)


def _refresh_locked(db_path: Path, sources: list[Source], directory: Path | None,
                    attribution: Attribution, max_object_bytes: int, quiet: bool,
                    policy: Policy | None = None, memory_limit: str | None = None,
                    raw_folder: Path | None = None) -> RefreshSummary:
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
        stager = Stager(staging_dir, next_load_id, max_object_bytes, attribution,
                        raw_folder or raw_store.folder(db_path), memory_limit,
                        object_bytes=sum(ref.size or 0 for _, ref in listed))
        if directory is not None:
            stager.stage_directory(directory)
        # A database older than this code (its aggregates, tables or models) is upgraded now, even with
        # nothing new.
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
        summary.records_skipped = staged["skipped"]
        summary.directory_loaded = directory is not None
        commit_started = time.monotonic()
        commit_within_memory(db_path, stager, summary, staged["fact_rows"], started, policy,
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
            memory_limit: str | None = config.RefreshConfig.memory_limit) -> RefreshSummary:
    """Rebuild every fact from the raw objects the database holds, into a new file swapped in whole.

    For a changed view or parsing rule. The directory snapshot is carried over; the refresh lock
    is held throughout so no refresh commits into the file being replaced.
    """
    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}")
    with warehouse.reader(db_path, views=False) as con:
        warehouse.refuse_serving_file(con, db_path)
    new = db_path.with_name(db_path.name + ".rebuild")
    for leftover in (new, new.with_name(new.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with warehouse.refresh_lock(db_path):
        with warehouse.writer(db_path) as con:  # a file from before the store: its bytes moved out
            con.execute("begin transaction")
            raw_store.move_out(con, raw_store.folder(db_path))
            con.execute("commit")
        with warehouse.writer(new) as con:
            catalog.create_schema(con)
            con.execute("attach ? as old (read_only)", [str(db_path)])
            for table in ("dir_portals", "dir_users", "dir_batches", "_directory_loads"):
                con.execute(f"insert into {table} select * from old.{table}")
            con.execute("detach old")
        # The new file's objects are the old one's, kept beside the path it is swapped in at.
        summary = _refresh_locked(new, [RawObjectsSource(db_path)], None, Attribution(),
                                  2 * 1024**3, quiet, memory_limit=memory_limit,
                                  raw_folder=raw_store.folder(db_path))
        with warehouse.writer(new) as con:
            # Status history belongs to the database, not to the parse: carry it over.
            con.execute("attach ? as old (read_only)", [str(db_path)])
            old_tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'old'").fetchall()}
            carried = ("_alerts", "_portal_status", "_alert_deliveries", "_alert_channels", "_ses_reputation")
            for table in carried:
                if table in old_tables:  # a database older than status history has none to carry
                    con.execute(f"delete from {table}")
                    con.execute(f"insert into {table} by name select * from old.{table}")
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
    """Objects already loaded, the next load id, and whether the file needs a commit even with
    nothing new: its aggregates need a rebuild, or its tables or models are older than this code."""
    if not db_path.exists():
        return set(), 1, False
    with warehouse.reader(db_path, views=False) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()}
        warehouse.refuse_serving_file(con, db_path)
        if "_ingest_objects" not in tables:
            return set(), 1, False
        rows = con.execute(
            "select source, object_key, etag from _ingest_objects"
        ).fetchall()
        last = con.execute("select coalesce(max(load_id), 0) from _loads").fetchall()[0][0]
        stale = aggregates_stale(con, tables) and con.execute(
            "select count(*) > 0 from fct_recipient_events").fetchall()[0][0]
        # Tables or models older than this code: the commit brings them up to date.
        stale = (stale or not catalog.models_current(con) or raw_store.kept_inside(con)
                 or "_status_judged" not in tables)
    return {(s, k, e or "") for s, k, e in rows}, last + 1, stale
