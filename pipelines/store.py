"""The DuckDB file: opening it for writing or reading, its schema and its views.

DuckDB lets one process hold a file read-write *or* any number hold it read-only. We keep both
sides short: the refresh parses into a private staging database and holds the live file only
for the final insert-and-commit; readers open, query and close. Each side retries briefly while
the other holds the lock, so the dashboard keeps serving during a refresh and a commit is never
seen half-done (DuckDB transactions are atomic on disk).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from pipelines.config import REPO_ROOT

QUERIES_DIR = REPO_ROOT / "queries"
# Views over the raw records of one load; they exist only in a refresh's staging database.
STAGING_QUERIES_DIR = QUERIES_DIR / "staging"
# Table macros `name(scope)`: a view's definition computed for a list of keys (null: all of them),
# so a commit recomputes only what it touched with the filter inside the scan.
SCOPED_QUERIES_DIR = QUERIES_DIR / "scoped"
SQL_DIR = Path(__file__).resolve().parent / "sql"
# Views are applied layer by layer so a view only ever binds against lower layers.
LAYERS = ("stg", "int", "fct", "dim", "mart")

_LOCK_ERRORS = ("Could not set lock", "Conflicting lock")


class DatabaseBusy(RuntimeError):
    """Another process held the database file for longer than we were willing to wait."""


class DatabaseMissing(FileNotFoundError):
    """No database file yet: nothing has been loaded."""


class DatabaseOutdated(RuntimeError):
    """The file's tables are from an older release than this code reads; one refresh upgrades them."""


def sql_file(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def view_files(staging: bool = False) -> list[Path]:
    """Every view file in apply order: by layer prefix, then by name; a scoped macro `<view>_for`
    (queries/scoped/) just before its view, since macros bind what they read when created."""
    files = sorted((STAGING_QUERIES_DIR if staging else QUERIES_DIR).glob("*.sql"))
    if not staging:
        files += sorted(SCOPED_QUERIES_DIR.glob("*.sql"))
    order = {layer: i for i, layer in enumerate(LAYERS)}

    def key(p: Path) -> tuple[int, str, int]:
        prefix = p.stem.split("_", 1)[0]
        if prefix not in order:
            raise ValueError(f"{p.name}: view files must start with one of {LAYERS}")
        scoped = p.parent == SCOPED_QUERIES_DIR
        return order[prefix], p.stem.removesuffix("_for") if scoped else p.stem, 0 if scoped else 1

    return sorted(files, key=key)


def apply_views(con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = LAYERS,
                staging: bool = False, materialize: bool = False, temp: bool = False) -> list[str]:
    """Create or replace every view of the given layers; returns the view names in order.

    `staging=True` applies queries/staging/ instead: the views over one load's raw records.
    `materialize=True` creates tables instead of views (the staging database reads each once
    per use otherwise, and each read parses every JSON record again).
    `temp=True` creates them in the connection only (a reader of a file whose stored views are
    from another version of this code); otherwise the file records which definitions it holds.
    """
    names = []
    scope = "temp " if temp else ""
    if not staging:
        for statement in _statements(sql_file("macros.sql")):
            con.execute(statement.replace("create or replace macro", f"create or replace {scope}macro", 1))
    for path in view_files(staging):
        if path.stem.split("_", 1)[0] not in layers:
            continue
        body = path.read_text(encoding="utf-8").strip().rstrip(";")
        if path.parent == SCOPED_QUERIES_DIR:
            con.execute(f"create or replace {scope}macro {path.stem}(scope) as table\n{body}")
            continue
        kind = "table" if materialize else "view"
        con.execute(f"create or replace {scope}{kind} {path.stem} as\n{body}")
        names.append(path.stem)
    if not (staging or temp or materialize) and layers == LAYERS:
        con.execute("delete from _view_definitions")
        con.execute("insert into _view_definitions values (?, now())", [definitions_hash()])
    return names


@cache
def definitions_hash() -> str:
    """Identifies this code's views and macros; stored with them in the file."""
    digest = hashlib.sha256(sql_file("macros.sql").encode())
    for path in view_files():
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _views_current(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        stored = con.execute(
            "select max_by(definition_hash, applied_at) from _view_definitions").fetchall()[0][0]
    except duckdb.CatalogException:  # a file from before the table existed
        return False
    return stored == definitions_hash()


def create_schema(con: duckdb.DuckDBPyConnection, staging: bool = False) -> None:
    """The live tables; with `staging`, also the tables of a load's private staging database."""
    for name in ("schema.sql", "staging_schema.sql") if staging else ("schema.sql",):
        for statement in _statements(sql_file(name)):
            con.execute(statement)


def _statements(script: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", script)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def run_script(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> None:
    """Run each statement of a file under pipelines/sql, binding only the params it names."""
    for statement in _statements(sql_file(name)):
        used = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", statement)}
        con.execute(statement, used or None)


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
def reader(path: Path, wait_seconds: float = 30.0, views: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Short-lived read-only view of the database, waiting out a refresh's commit.

    An in-memory database that ATTACHes the file: `connect(path, read_only=True)` would hand back
    a cached, stale instance while any other connection to the path is open in this process.
    """
    if not path.exists():
        raise DatabaseMissing(f"no database at {path}")

    def open_attached():
        con = duckdb.connect(":memory:")
        try:
            con.execute("attach ? as wh (read_only)", [str(path)])
            con.execute("use wh")
        except Exception:
            con.close()
            raise
        return con

    con = _retry_open(open_attached, wait_seconds, "read")
    try:
        configure(con)
        # Views are stored in the file by the last refresh: after an upgrade, until the next
        # refresh, this code's own versions are laid over them for this connection only.
        # `views=False`: the refresh reads only its own tables, and must upgrade an old file.
        if views and not _views_current(con):
            try:
                apply_views(con, temp=True)
            except duckdb.Error as exc:
                raise DatabaseOutdated(
                    f"{path} was built by an older bouncedesk: run `python -m pipelines refresh` once "
                    "to bring it up to date (nothing is lost; no new data is needed)"
                ) from exc
        yield con
    finally:
        con.close()


def version(path: Path) -> tuple[int, int]:
    """Changes whenever a refresh commits; cache keys include it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)
