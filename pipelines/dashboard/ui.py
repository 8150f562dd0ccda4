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
    """The CSV of `df` as it is: machine-friendly column names and raw values (`csv_safe.to_safe_csv`)."""
    from pipelines.reports.csv_safe import to_safe_csv

    # Written when the button is clicked, not on every render: most tables are read, not downloaded.
    st.download_button(label, data=lambda: to_safe_csv(df), file_name=file_name, mime="text/csv",
                       on_click="ignore", key=key or f"dl-{file_name}")


# --- tables for people ----------------------------------------------------------------------------
# One spec for every table: a column's name -> (label, kind). Kinds: "pct" (a 0-1 rate shown as a
# percentage), "int" (a count with thousands separators), "number" (any other measure, 2 decimals),
# "time" (a UTC timestamp), "date", "status"
# (a coloured label), "choice" (a code shown in words, `CHOICES`), "trend" (a sparkline), "text".
# A column not named here is labelled from its name and formatted by its type (a float whose name
# holds "rate" or "share" is a percentage). The screen shows the labels; the CSV keeps the names and
# the raw values.
COLUMNS: dict[str, tuple[str, str]] = {
    "portal_id": ("Portal", "text"), "name": ("Name", "text"), "parent_portal_id": ("Parent portal", "text"),
    "status": ("Status", "status"), "rollup_status": ("Status with sub-portals", "status"),
    "from_status": ("From", "status"), "to_status": ("To", "status"),
    "hard_rate": ("Hard-bounce rate", "pct"), "soft_rate": ("Soft-bounce rate", "pct"),
    "complaint_rate": ("Complaint rate", "pct"), "delivery_rate": ("Delivery rate", "pct"),
    "rollup_hard_rate": ("Hard-bounce rate with sub-portals", "pct"),
    "share_of_hard_bounces": ("Share of hard bounces", "pct"), "rate": ("Rate", "pct"),
    "baseline_rate": ("Portal's usual rate", "pct"), "hard_probability": ("Chance of a hard bounce", "pct"),
    "sent": ("Sends", "int"), "rollup_sent": ("Sends with sub-portals", "int"),
    "hard_bounced": ("Hard bounces", "int"), "soft_bounced": ("Soft bounces", "int"),
    "rollup_hard_bounced": ("Hard bounces with sub-portals", "int"),
    "hard_bounced_addresses": ("Hard-bounced addresses", "int"),
    "bounced_addresses": ("Bounced addresses", "int"),
    "complaints": ("Complaints", "int"), "delivered": ("Delivered", "int"), "rejects": ("Rejects", "int"),
    "suppressed": ("Suppressed", "int"), "addresses": ("Addresses", "int"), "sends": ("Sends", "int"),
    "evidence": ("Evidence", "int"), "row_count": ("Rows uploaded", "int"), "refusals": ("Refusals", "int"),
    "events": ("Events", "int"), "attributed": ("With a portal", "int"), "bounce_count": ("Bounces", "int"),
    "trend": ("Daily hard-bounce rate, 30 days", "trend"), "why": ("Judged against", "text"),
    "key": ("Value", "text"), "domain": ("Domain", "text"), "typo_of": ("Likely typo of", "text"),
    "suggestion": ("Suggestion", "text"), "batch_id": ("Upload batch", "text"), "filename": ("File", "text"),
    "uploaded_at": ("Uploaded (UTC)", "time"), "first_sent": ("First sent (UTC)", "time"),
    "last_sent": ("Last sent (UTC)", "time"), "last_event": ("Last event (UTC)", "time"),
    "first_seen": ("First seen (UTC)", "time"), "last_seen": ("Last seen (UTC)", "time"),
    "batch_uploaded_at": ("Batch uploaded (UTC)", "time"), "recorded_at": ("Recorded (UTC)", "time"),
    "as_of": ("As of (UTC)", "time"), "at": ("At (UTC)", "time"), "scope": ("Scope", "choice"),
    "cause": ("Cause", "choice"), "subject": ("Where", "text"), "evidence_unit": ("Counted in", "text"),
    "example": ("Example", "text"), "example_detail": ("Example detail", "text"),
    "batch_filename": ("Batch file", "text"), "event_type": ("Event", "text"),
    "email": ("Email", "text"), "learner_name": ("Learner", "text"),
    "user_status": ("Account status", "text"), "bounce_type": ("Bounce type", "text"),
    "reason": ("Reason", "text"), "diagnostic": ("Diagnostic", "text"),
    "first_bounce": ("First bounce (UTC)", "text"), "last_bounce": ("Last bounce (UTC)", "text"),
    "upload_batch_id": ("Upload batch", "text"), "recommended_action": ("What to do", "text"),
    "advice": ("Advice", "text"), "message_type": ("Message type", "text"),
    "delivery": ("Sent to", "text"), "channel": ("Channel", "text"), "kind": ("Kind", "text"),
    "added_at": ("Configured (UTC)", "time"), "last_delivered_at": ("Last delivered (UTC)", "time"),
    "last_failed_at": ("Last failure (UTC)", "time"), "last_error": ("Last error", "text"),
    "retrying": ("Waiting for a retry", "int"), "undeliverable": ("Undeliverable", "int"),
    "failing_last_day": ("Failures, last 24 h", "int"),
}
STATUS_LABELS = {"disabled": "Mail switched off", "exceeded": "Over the cutoff",
                 "approaching": "Over the warning", "ok": "OK", "insufficient_volume": "Too few sends"}
STATUS_COLORS = {"disabled": "red", "exceeded": "red", "approaching": "orange", "ok": "green",
                 "insufficient_volume": "gray"}
FLAGGED = ("disabled", "exceeded", "approaching")
# Coded values of "choice" columns as people read them (the data and the CSV keep the codes).
CHOICES: dict[str, dict[str, str]] = {
    "cause": {"bad_upload_batch": "Bad upload batch", "typo_domain": "Typo in the domain",
              "placeholder_address": "Placeholder address", "role_account": "Role address",
              "domain_rejecting_content": "Domain refusing our mail", "stale_accounts": "Stale accounts"},
    "scope": {"alone": "Portal alone", "rollup": "With sub-portals"},
}


def status_label(status: str | None) -> str:
    """A status as people read it ("Over the cutoff"); "—" for none."""
    return "—" if status is None else STATUS_LABELS.get(status, status.replace("_", " "))


def column_spec(name: str, dtype: pl.DataType) -> tuple[str, str]:
    """(label, kind) of one column: from `COLUMNS`, else from its name and type."""
    if name in COLUMNS:
        return COLUMNS[name]
    label = name.replace("_", " ").capitalize()
    if isinstance(dtype, pl.List):
        return label, "trend"
    if isinstance(dtype, pl.Datetime):
        return f"{label} (UTC)", "time"
    if dtype == pl.Date:
        return label, "date"
    if dtype.is_float() and ("rate" in name or "share" in name):
        return label, "pct"
    if dtype.is_integer():
        return label, "int"
    if dtype.is_float():
        return label, "number"
    return label, "text"


def _column_config(name: str, label: str, kind: str):
    cc = st.column_config
    if kind == "choice":
        words = CHOICES.get(name, {})
        return cc.SelectboxColumn(label, options=list(words), format_func=lambda v: words.get(v, v))
    if kind == "pct":
        return cc.NumberColumn(label, format="percent")
    if kind == "int":
        return cc.NumberColumn(label, format="localized")
    if kind == "number":  # a measure that is neither a count nor a rate (seconds, a distance)
        return cc.NumberColumn(label, format="%.2f")
    if kind == "time":
        return cc.DatetimeColumn(label, format="YYYY-MM-DD HH:mm", timezone="UTC")
    if kind == "date":
        return cc.DateColumn(label, format="YYYY-MM-DD")
    if kind == "trend":
        return cc.LineChartColumn(label, y_min=0.0)
    return cc.TextColumn(label)


def for_people(df: pl.DataFrame, show: Sequence[str] | None = None) -> tuple[pl.DataFrame, dict, list[str]]:
    """What `table` draws: `df` plus one `<status>__label` list column per status column (a coloured
    label), the column config of every column, and the columns shown by default (`show`, else all)."""
    config: dict = {}
    shown = df
    order: list[str] = []
    for name, dtype in df.schema.items():
        label, kind = column_spec(name, dtype)
        if kind == "status":
            pill = f"{name}__label"
            shown = shown.with_columns(  # no status (e.g. a first alert's "from"): "—", not an empty label
                pl.when(pl.col(name).is_null()).then(None).otherwise(pl.concat_list(pl.col(name))).alias(pill))
            config[pill] = st.column_config.MultiselectColumn(
                label, options=list(STATUS_LABELS), color=[STATUS_COLORS[s] for s in STATUS_LABELS],
                format_func=status_label)
            config[name] = None  # the raw status stays in the data (and the CSV), not on screen
            order.append(pill)
        else:
            config[name] = _column_config(name, label, kind)
            order.append(name)
    if show is not None:
        wanted = [f"{c}__label" if f"{c}__label" in config else c for c in show]
        order = [c for c in wanted if c in order]
    return shown, config, order


def table(df: pl.DataFrame, file_name: str, empty: str, *, show: Sequence[str] | None = None,
          key: str | None = None, select: bool = False, download_label: str = "Download CSV",
          download_key: str | None = None) -> dict | None:
    """A table for people with its CSV download, or a sentence saying why there is nothing to show.

    Columns carry the labels and formats of `COLUMNS` (rates as %, counts with separators, UTC times,
    "—" for nothing, statuses as coloured labels); `show` names the columns shown by default, the rest
    one toggle away ("All columns"). The CSV keeps the machine names and raw values; list columns
    (sparklines) are left out of it. With `select`, one row can be picked: its raw values are
    returned (else None).
    """
    if df.is_empty():
        st.info(empty)
        return None
    key = key or f"table-{file_name}"
    shown, config, order = for_people(df, show)
    hidden = len(config) - sum(v is None for v in config.values()) - len(order)
    if show is not None and hidden > 0 and st.toggle(f"All columns (+{hidden})", key=f"{key}-all"):
        order = None
    event = st.dataframe(shown, hide_index=True, column_config=config, column_order=order,
                         placeholder="—", key=key if select else None,
                         on_select="rerun" if select else "ignore", selection_mode="single-row")
    lists = [c for c, t in df.schema.items() if isinstance(t, pl.List)]
    download(df.drop(lists), file_name, label=download_label, key=download_key)
    if select:
        rows = event.selection.rows
        if rows:
            return df.row(rows[0], named=True)
    return None


def through_the_app() -> None:
    """Called first by every page: a page Streamlit ran on its own hands over to app.py.

    Until app.py has called `st.navigation` once in a server process, Streamlit takes pages/ for the
    pages of an app without navigation: a fresh server whose first request is a page's URL (a bookmark,
    a link in an alert) would run that page file alone, without the app's reader or page list, and list
    the raw file names in the sidebar for every session after. So the page switches the process to the
    declared navigation and reruns, which runs app.py on the same URL."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def ensure_database() -> bool:
    """True when there is data to show. On the very first start, builds the demo database, with a
    progress bar fed by the progress lines the build prints (pipelines/demo/build.py, ingest/progress.py)."""
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

    # The build's phases, from the lines it prints, as (share done at its start, share at its end,
    # what it is doing); between two lines the bar creeps towards the phase's end.
    def step(line: str) -> tuple[float, float, str] | None:
        if line.startswith("generating "):
            return 0.02, 0.20, "Generating a seeded SES bounce history for a multi-portal LMS ..."
        if line.startswith("wrote "):
            return 0.20, 0.22, "Wrote the demo's SES exports and LMS directory"
        if line.startswith("loading into "):
            return 0.22, 0.30, "Reading the SES objects ..."
        if line.startswith("objects ") and "/" in line.split()[1]:
            done, _, total = line.split()[1].partition("/")
            if done.isdigit() and total.isdigit() and int(total):
                at = 0.22 + 0.10 * int(done) / int(total)
                return at, max(at, 0.30), f"Reading the SES objects: {done} of {total}"
        if line.startswith("parsing "):
            return 0.32, 0.85, "Parsing and classifying the SES records ..."
        if line.startswith("staged "):
            return 0.85, 0.98, "Committing the facts to the database ..."
        if line.startswith("load_id="):
            return 1.0, 1.0, "Done"
        return None

    import queue
    import threading

    with st.status("First start: building the demo database (about 100,000 sends, a minute or so)",
                   expanded=True) as status:
        bar = st.progress(0.0, text="Starting the demo build ...")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "demo"], cwd=REPO_ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        # Read on a thread, so the bar moves while the build is silent; only this thread draws.
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(out=proc.stdout) -> None:
            for raw in out:
                lines.put(raw)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        tail: list[str] = []  # the last lines, shown only if the build fails
        done, end, text = 0.0, 0.02, "Starting the demo build ..."
        while True:
            try:
                raw = lines.get(timeout=0.5)
            except queue.Empty:
                done += (end - done) * 0.04
                bar.progress(min(done, 1.0), text=text)
                continue
            if raw is None:
                break
            line = raw.strip()
            tail = [*tail[-19:], line]
            where = step(line)
            if where is not None:
                done, end, text = max(done, where[0]), max(end, where[1]), where[2]
                bar.progress(min(done, 1.0), text=text)
        if proc.wait() != 0:
            status.update(label="Building the demo failed", state="error", expanded=True)
            st.error("The demo build failed; run `python -m pipelines demo` in a terminal to see why.")
            st.code("\n".join(tail) or "(no output)", language=None)
            return False
        bar.progress(1.0, text="Done")
        status.update(label="Demo database ready", state="complete", expanded=False)
    st.cache_data.clear()
    return True
