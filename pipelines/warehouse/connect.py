"""The DuckDB file: opening it for writing or reading.

DuckDB lets one process hold a file read-write *or* any number hold it read-only. We keep both
sides short: the refresh parses into a private staging database and holds the live file only
for the final insert-and-commit; readers open, query and close. Each side retries briefly while
the other holds the lock, so the dashboard keeps serving during a refresh and a commit is never
seen half-done (DuckDB transactions are atomic on disk).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.warehouse import catalog

_LOCK_ERRORS = ("Could not set lock", "Conflicting lock")


class DatabaseBusy(RuntimeError):
    """Another process held the database file for longer than we were willing to wait."""


class DatabaseMissing(FileNotFoundError):
    """No database file yet: nothing has been loaded."""


class DatabaseOutdated(RuntimeError):
    """The file's tables are from an older release than this code reads; one refresh upgrades them."""


class ServingFile(RuntimeError):
    """The file is a serving copy `lake marts` wrote from a lake: it holds no raw objects, so it is
    remade from the lake, never refreshed or rebuilt."""


def has_table(con, name: str) -> bool:
    """Whether the open file holds the table: a file `lake marts` wrote, or one older than a table,
    lacks it, and a lake read by another engine (pipelines/lake/spark.py) holds only what
    `lake export` wrote, none of the refresh's own tables."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return False
    return con.execute("select count(*) > 0 from duckdb_tables() where table_name = ? "
                       "and database_name = current_database()", [name]).fetchall()[0][0]


def refuse_serving_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise ServingFile if the open file is one `lake marts` wrote (a file older than `_lake_marts`
    is not)."""
    if not has_table(con, "_lake_marts"):
        return
    lake = con.execute("select max_by(lake, built_at) from _lake_marts").fetchall()[0][0]
    if lake is not None:
        raise ServingFile(
            f"{path} was written by `python -m pipelines lake marts` from the lake {lake}: refresh the "
            f"database that lake is exported from, export it, then run `lake marts --lake {lake} --to "
            f"{path}` again")


def configure(con: duckdb.DuckDBPyConnection, memory_limit: str | None = None) -> None:
    # Dates are UTC everywhere: rates are attributed to the UTC day of sending.
    con.execute("set TimeZone = 'UTC'")
    # Progress is ours to report (on stderr); DuckDB's bar would land on stdout.
    con.execute("set enable_progress_bar = false")
    # A join on a few thousand keys (the addresses a load touched, an uploaded list) passes them to
    # the other side's table scan as an IN filter, so only matching rows are read in full; past the
    # default 50 keys DuckDB passes only their min and max, which prunes nothing for addresses.
    con.execute("set dynamic_or_filter_threshold = 10000")
    # Nothing may be downloaded at run time.
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = true")
    if memory_limit:
        # Past it DuckDB spills sorts, joins and aggregates to disk beside the database instead
        # of growing: a refresh shares its machine with the app and the scheduler.
        con.execute("set memory_limit = ?", [memory_limit])


def _is_lock_error(exc: Exception) -> bool:
    return any(marker in str(exc) for marker in _LOCK_ERRORS)


def _retry_open(open_fn, wait_seconds: float, what: str):
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        try:
            return open_fn()
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise DatabaseBusy(
                        f"{what}: the database is held by another process; try again shortly"
                    ) from exc
                raise
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


@contextmanager
def writer(path: Path, wait_seconds: float = 120.0,
           memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Read-write connection; waits while readers hold the file. Checkpoints and closes after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _retry_open(lambda: duckdb.connect(str(path)), wait_seconds, "refresh")
    try:
        configure(con, memory_limit)
        yield con
        con.execute("checkpoint")
    finally:
        con.close()


@contextmanager
def attached_writer(con: duckdb.DuckDBPyConnection, path: Path, wait_seconds: float = 120.0,
                    memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """`con` with the file attached read-write as its default database: a load's commit runs on the
    connection that staged it, reading the staged tables where they are (`stg.<table>`) instead of
    from a file written, checkpointed and reopened for it. Waits while readers hold the
    file; checkpoints it and detaches after."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = con.execute("select current_database()").fetchall()[0][0]
    _retry_open(lambda: con.execute("attach ? as live", [str(path)]), wait_seconds, "refresh")
    try:
        if memory_limit:
            con.execute("set memory_limit = ?", [memory_limit])
        con.execute("use live")
        yield con
        con.execute("checkpoint live")
    finally:
        con.execute(f"use {previous}")
        con.execute("detach live")


@contextmanager
def reader(path: Path, wait_seconds: float = 30.0, views: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Short-lived read-only view of the database, waiting out a refresh's commit.

    An in-memory database that ATTACHes the file: `connect(path, read_only=True)` would hand back
    a cached, stale instance while any other connection to the path is open in this process.
    """
    if not path.exists():
        raise DatabaseMissing(f"no database at {path}")
    con = _retry_open(lambda: _READERS.open(path), wait_seconds, "read")
    try:
        configure(con)
        # Views are stored in the file by the last refresh: after an upgrade, until the next
        # refresh, this code's own versions are laid over them for this connection only.
        # `views=False`: the refresh reads only its own tables, and must upgrade an old file.
        if views and not catalog.models_current(con):
            try:
                catalog.apply_models(con, temp=True)
            except duckdb.Error as exc:
                raise DatabaseOutdated(
                    f"{path} was built by an older bouncedesk: run `python -m pipelines refresh` once "
                    "to bring it up to date (nothing is lost; no new data is needed)"
                ) from exc
        yield con
    finally:
        _READERS.close(path, con)


class _ReadInstance:
    """The in-memory DuckDB every reader of this process attaches the file to, each on a cursor of its
    own: a new instance per reader cost each page read ~30 ms, an ATTACH costs ~7. DuckDB attaches a
    path once per instance, so a file stays attached while any of its readers is open and is detached
    when the last one closes: the lock is held no longer than before, and the next reader sees the
    file a refresh committed since."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._attached: dict[str, tuple[str, int]] = {}  # path -> (alias, open readers)
        self._aliases = itertools.count(1)

    def open(self, path: Path) -> duckdb.DuckDBPyConnection:
        key = str(path.resolve())
        with self._lock:
            if self._instance is None:
                self._instance = duckdb.connect(":memory:")
            alias, readers = self._attached.get(key, (None, 0))
            if alias is None:
                alias = f"wh{next(self._aliases)}"
                self._instance.execute(f"attach ? as {alias} (read_only)", [key])
            self._attached[key] = (alias, readers + 1)
        con = self._instance.cursor()
        try:
            con.execute(f"use {alias}")
        except Exception:
            self.close(path, con)
            raise
        return con

    def close(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        con.close()
        key = str(path.resolve())
        with self._lock:
            alias, readers = self._attached[key]
            if readers > 1:
                self._attached[key] = (alias, readers - 1)
            else:
                del self._attached[key]
                self._instance.execute(f"detach {alias}")


_READERS = _ReadInstance()


def version(path: Path) -> tuple[int, int]:
    """Changes whenever a refresh commits; cache keys include it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)
