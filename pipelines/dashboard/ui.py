"""Streamlit helpers shared by the pages: the portal picker, tables with their downloads, the first-start
demo build. Pages stay thin: no SQL and no duckdb here or there; their numbers come from `data`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import polars as pl
import streamlit as st

from pipelines.config import DEFAULT_DB, REPO_ROOT
from pipelines.dashboard import data
from pipelines.dashboard.cache import db_path


def portal_picker(label: str = "Portal (type to search)", *, key: str, among: Sequence[str] | None = None,
                  all_label: str | None = None, default: str | None = None) -> str | None:
    """The one portal picker: a searchable select of "id — name" labels (`data.portal_options`).

    `among` limits the choice to those portal ids, in that order (default: every known portal);
    `all_label` adds a first entry for no portal in particular ("Whole account"), returned as None.
    The first pick is the URL's `?portal=` when it names a choice, else `default`, else the first
    entry; the pick is written back to `?portal=` (removed for the all entry) so a link can be shared.
    Returns the portal id picked, or None (the all entry, or no portal to pick: then nothing is drawn).
    """
    options = data.portal_options()
    labels = dict(zip(options["portal_id"].to_list(), options["label"].to_list(), strict=True))
    ids = list(among) if among is not None else list(labels)
    if all_label is not None:
        ids, labels = ["", *ids], {**labels, "": all_label}
    if not ids:
        return None
    if st.session_state.get(key) not in ids:
        wanted = st.query_params.get("portal")
        st.session_state[key] = wanted if wanted in ids else default if default in ids else ids[0]
    picked = st.selectbox(label, ids, key=key, format_func=lambda p: labels.get(p, p))
    if picked:
        st.query_params["portal"] = picked
    elif "portal" in st.query_params:
        del st.query_params["portal"]
    return picked or None


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
