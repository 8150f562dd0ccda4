"""Streamlit helpers shared by the pages: cached reads keyed on the database version, downloads,
empty states. Pages stay thin: no SQL and no duckdb here or there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import streamlit as st

from pipelines import warehouse
from pipelines.config import DEFAULT_DB, REPO_ROOT, resolve_db_path
from pipelines.warehouse import reads


def db_path() -> Path:
    return resolve_db_path()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(db: str, version: tuple[int, int], module: str, name: str, kwargs: tuple):
    import importlib

    fn = getattr(importlib.import_module(module), name)
    with warehouse.reader(Path(db)) as con:
        return fn(con, **dict(kwargs))


def call(fn, **kwargs):
    """`fn(con, **kwargs)` on a short-lived reader, cached until the next refresh commits.

    For page data that needs more than one query (status under a policy, a projection, a brief):
    `fn` is a module-level function taking the connection first; its result must be picklable.
    """
    db = db_path()
    return _cached_call(str(db), warehouse.version(db), fn.__module__, fn.__name__,
                        tuple(sorted(kwargs.items())))


def read(name: str, **params) -> pl.DataFrame:
    """A read from queries/reads/, cached until the next refresh commits."""
    return call(reads.run, name=name, **params)


def download(df: pl.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    from pipelines.reports.csv_safe import to_safe_csv

    st.download_button(label, data=to_safe_csv(df), file_name=file_name, mime="text/csv",
                       on_click="ignore", key=key or f"dl-{file_name}")


def table(df: pl.DataFrame, file_name: str, empty: str) -> None:
    """A table with its CSV download, or a sentence saying why there is nothing to show.

    List columns are drawn as sparklines on screen and left out of the CSV.
    """
    if df.is_empty():
        st.info(empty)
        return
    lists = [c for c, t in df.schema.items() if isinstance(t, pl.List)]
    config = {c: st.column_config.LineChartColumn(c, y_min=0.0) for c in lists}
    st.dataframe(df, hide_index=True, column_config=config or None)
    download(df.drop(lists), file_name)


def ensure_database() -> bool:
    """True when there is data to show. On the very first start, builds the demo database."""
    db = db_path()
    if db.exists():
        return True
    if db != DEFAULT_DB:
        st.info(
            f"No database at `{db}` yet. Load data with\n\n"
            f"`python -m pipelines refresh --db {db} --source <folder | s3://bucket/prefix> "
            "--directory <lms-exports>`"
        )
        return False
    with st.status("First start: building the demo database (about 100,000 sends) ...",
                   expanded=True) as status:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "demo"], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            st.write(line.rstrip())
        if proc.wait() != 0:
            status.update(label="Building the demo failed", state="error")
            st.error("The demo build failed; run `python -m pipelines demo` in a terminal to see why.")
            return False
        status.update(label="Demo database ready", state="complete", expanded=False)
    st.cache_data.clear()
    return True


def guarded(fn, *args, **kwargs):
    """Run a read; turn a busy or missing database into a message instead of a traceback."""
    try:
        return fn(*args, **kwargs)
    except warehouse.DatabaseBusy:
        st.warning("A refresh is committing new data right now. Reload the page in a few seconds.")
    except warehouse.DatabaseMissing:
        st.info("No database yet: run `python -m pipelines demo` or `python -m pipelines refresh`.")
    except warehouse.DatabaseOutdated as exc:
        st.warning(str(exc))
    st.stop()
