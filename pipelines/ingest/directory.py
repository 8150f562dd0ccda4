"""Directory exports from the LMS (portals, users, upload batches), read and checked before a load.

The three CSVs are staged and validated first; the live tables are replaced inside the
refresh's transaction, so readers see the old snapshot or the new one, never a mix.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.warehouse import catalog

# file -> (required columns, optional columns)
FILES = {
    "portals.csv": (("portal_id", "name", "parent_portal_id"), ("email_enabled",)),
    "users.csv": (
        ("user_id", "portal_id", "name", "email", "status", "upload_batch_id", "created_at"),
        (),
    ),
    "batches.csv": (("batch_id", "portal_id", "uploaded_at", "filename", "rows"), ()),
}

_TRUE = ("true", "1", "yes", "y", "t", "enabled")


class DirectoryError(ValueError):
    pass


def stage_directory(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, int]:
    """Read the three CSVs into `staged_dir_*` tables of the staging database; returns row counts."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DirectoryError(f"--directory {folder}: not a folder")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise DirectoryError(
            f"--directory {folder}: missing {', '.join(missing)} "
            "(expected portals.csv, users.csv and batches.csv with a header row)"
        )
    counts = {}
    for name, (required, optional) in FILES.items():
        path = folder / name
        table = "staged_dir_" + name.removesuffix(".csv")
        try:
            con.execute(
                f"create or replace table {table} as "
                "select * from read_csv(?, header = true, all_varchar = true, auto_detect = true)",
                [str(path)],
            )
        except duckdb.Error as exc:
            raise DirectoryError(f"{path}: cannot be read as CSV: {exc}") from exc
        columns = [r[0] for r in con.execute(f"describe {table}").fetchall()]
        lacking = [c for c in required if c not in columns]
        if lacking:
            raise DirectoryError(
                f"{path}: missing column(s) {', '.join(lacking)}; found {', '.join(columns)}"
            )
        for col in optional:
            if col not in columns:
                con.execute(f"alter table {table} add column {col} varchar")
        counts[name.removesuffix(".csv")] = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    _check_types(con)
    return counts


def _check_types(con: duckdb.DuckDBPyConnection) -> None:
    bad = con.execute(catalog.sql("stage/directory_type_errors.sql")).fetchall()
    if bad:
        file, col, typ, value = bad[0]
        raise DirectoryError(f"{file}: column {col} has a value that is not a {typ}: {value!r}")


def replace_directory(con: duckdb.DuckDBPyConnection, load_id: int) -> None:
    """Swap the live directory tables for the staged ones (staging attached as `stg`)."""
    catalog.run_script(con, "commit/replace_directory.sql", {"truthy": list(_TRUE), "load_id": load_id})
