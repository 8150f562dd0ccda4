"""The objects as received, kept beside the database: one file per distinct content, named by its
SHA-256 (`<database>.objects/ab/ab12…`), which the `raw_objects` rows point at (`sha256`).

Beside, not inside: DuckDB rewrites the partly filled row group an append lands in at every
checkpoint, and a table of a few thousand objects is one row group holding every byte ever received,
so each refresh paid a checkpoint that grew with the whole history. A file is written before the
commit that records it (a failed run leaves at most an unreferenced file, never a row without its
bytes) and never changed after: an erasure writes the rewritten object as a new file and `sweep`
removes what no row points at once the erasure has committed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import duckdb

from pipelines.warehouse import catalog


def folder(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".objects")


def _path(store: Path, sha256: str) -> Path:
    return store / sha256[:2] / sha256


def put(store: Path, data: bytes) -> str:
    """Keep `data`; its SHA-256, the name it is kept under. Writing the same content twice is a no-op."""
    sha256 = hashlib.sha256(data).hexdigest()
    target = _path(store, sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file under the content's name.
        aside = target.with_name(f".{sha256}.{os.getpid()}.{threading.get_ident()}")
        aside.write_bytes(data)
        os.replace(aside, target)
    return sha256


def get(store: Path, sha256: str) -> bytes:
    try:
        return _path(store, sha256).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"raw object {sha256} is missing from {store}: the database's raw objects live beside it "
            "(copy the .objects folder with the .duckdb file)") from None


def sweep(store: Path, referenced: set[str]) -> int:
    """Remove every kept file no row points at (older versions of erased objects, and objects of a
    run that failed before its commit); how many were removed."""
    removed = 0
    if not store.exists():
        return removed
    for path in store.glob("*/*"):  # a file written aside and never renamed is swept too
        if path.name not in referenced:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def kept_inside(con: duckdb.DuckDBPyConnection) -> bool:
    """The database is from before the store: it keeps the bytes in `raw_objects.data`."""
    return bool(con.execute(
        "select count(*) from information_schema.columns where table_catalog = current_database() "
        "and table_name = 'raw_objects' and column_name = 'data'").fetchall()[0][0])


def move_out(con: duckdb.DuckDBPyConnection, store: Path) -> bool:
    """A database from before the store: write its bytes out and leave the table as it is now
    (inside the caller's transaction). Whether anything moved."""
    if not kept_inside(con):
        return False
    con.execute("alter table raw_objects rename to raw_objects_inside")
    catalog.create_schema(con)  # raw_objects as it is now, constraints included
    # A few dozen objects at a time, on this connection: the renamed table is this transaction's.
    done = 0
    while batch := con.execute(
            "select load_id, source, object_key, etag, received_date, data from raw_objects_inside "
            "order by rowid limit 64 offset ?", [done]).fetchall():
        con.executemany("insert into raw_objects values (?, ?, ?, ?, ?, ?, ?)",
                        [(*row[:5], put(store, row[5]), len(row[5])) for row in batch])
        done += len(batch)
    con.execute("drop table raw_objects_inside")
    return True
