"""Commit: the staged load copied into the live database in one transaction, on the staging
connection with the live file attached (the staged tables are read in place as `stg.<table>`).

Inside it: the directory replaced (when loaded), the models applied, the facts attributed and
deduplicated (queries/commit/load.sql), the incremental tables brought up to date, every portal
judged and its status changes recorded as alerts, the manifest and the load recorded. A crash
rolls back to the last commit; a commit that runs out of memory is retried whole with more.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from pipelines import config, warehouse
from pipelines.ingest import directory
from pipelines.ingest.stage import Stager
from pipelines.ingest.summary import RefreshSummary
from pipelines.reports.alerts import record_transitions
from pipelines.reports.policy import Policy
from pipelines.warehouse import catalog, raw_store


class _CommitOutOfMemory(RuntimeError):
    """DuckDB ran out of its memory limit inside the commit's transaction, which was rolled back."""


def commit_within_memory(db_path: Path, stager: Stager, summary: RefreshSummary, fact_rows: int,
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
            bigger = config.doubled_memory_limit(memory_limit)
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
    with warehouse.attached_writer(stager.con, db_path, memory_limit=memory_limit) as con:
        catalog.create_schema(con)
        con.execute("begin transaction")
        try:
            raw_store.move_out(con, raw_store.folder(db_path))  # a file from before the store
            if with_directory:
                directory.replace_directory(con, stager.load_id)
            # Views and macros stored by this code's definitions are kept: re-creating every one
            # is a fixed cost of each hourly commit.
            if not catalog.models_current(con):
                catalog.apply_models(con)
            count_facts = "select count(*) from fct_recipient_events"
            before = con.execute(count_facts).fetchall()[0][0]
            # A directory reload can re-attribute any message, and stale tables were built by another
            # rule: both rebuild the incremental tables whole, otherwise only what the load touched.
            # Judged before the load's facts go in: a table empty until now (no unattributed mail yet) is
            # not stale because this load gives it its first rows.
            rebuild = with_directory or aggregates_stale(con)
            catalog.run_script(con, "commit/load.sql", {"lo": lo, "hi": hi, "load_id": stager.load_id})
            if with_directory:
                catalog.run_script(con, "commit/reattribute_directory.sql")
            if rebuild:
                for model in catalog.incremental_tables():
                    catalog.rebuild_table(con, model)
                con.execute("delete from _aggregate_definitions")
                con.execute("insert into _aggregate_definitions values (?, now())",
                            [catalog.incremental_definitions_hash()])
            else:
                catalog.run_script(con, "commit/refresh_aggregates.sql")
                catalog.refresh_send_days(con)
                catalog.run_script(con, "commit/touched_addresses.sql")
                catalog.run_script(con, "commit/domain_totals_out.sql")
                catalog.run_script(con, "commit/refresh_address_facts.sql")
                catalog.run_script(con, "commit/domain_totals_in.sql")
                catalog.run_script(con, "commit/refresh_address_grams.sql")
            summary.facts_new = con.execute(count_facts).fetchall()[0][0] - before
            summary.records_duplicate = fact_rows - summary.facts_new
            alerts = record_transitions(con, stager.load_id, policy)
            summary.alerts = alerts.height
            summary.alert_rows = alerts.to_dicts()
            catalog.run_script(con, "commit/record_load.sql", {
                "load_id": stager.load_id, "elapsed": seconds_so_far,
                "sources": ", ".join(sorted({f["source"] for f in stager.objects})),
                "seen": summary.objects_seen, "new": summary.objects_new,
                "failed": summary.objects_failed, "loaded": summary.records_loaded,
                "quarantined": summary.records_quarantined,
                "duplicate": summary.records_duplicate, "facts": summary.facts_new,
                "directory": with_directory,
            })
            con.execute("commit")
            summary.committed = True
        except duckdb.OutOfMemoryException as exc:
            con.execute("rollback")
            raise _CommitOutOfMemory(str(exc)) from exc
        except BaseException:
            con.execute("rollback")
            raise


def aggregates_stale(con: duckdb.DuckDBPyConnection, tables: set[str] | None = None) -> bool:
    """An incremental table is missing, or empty while its definition is not (a database from before
    it existed), or was built by another definition: then the next commit rebuilds them all rather
    than mixing two rules. (Empty can be right: a history with no hard bounce has no mart_hard_bounces.)"""
    if tables is None:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()}
    names = [m.name for m in catalog.incremental_tables()]
    if any(name not in tables for name in (*names, "_aggregate_definitions")):
        return True
    # The definitions first: on a first load (no definitions yet) evaluating a model to learn
    # whether it is empty would cost a scan of everything just loaded.
    built = con.execute(
        "select max_by(definition_hash, built_at) from _aggregate_definitions").fetchall()[0][0]
    if built != catalog.incremental_definitions_hash():
        return True
    return any(
        con.execute(f"select count(*) = 0 from {m.name}").fetchall()[0][0] and con.execute(
            f"select count(*) > 0 from ({m.everything()} limit 1)").fetchall()[0][0]
        for m in catalog.incremental_tables())
