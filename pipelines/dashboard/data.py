"""Page data: every number a page shows, one plainly named function per thing shown.

Each `@page_data` function is written to take an open connection first and returns polars frames,
dicts, strings or frozen dataclasses; a page calls it without the connection
(`data.portal_summary(portal_id="p004", rollup=True)`), on its own short-lived reader, cached until the
next refresh commits (pipelines/dashboard/cache.py). The SQL lives in queries/reads/; every value from
a user reaches it as a bound parameter. The numbers come from pipelines.reports and the reads, never
from a page.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from pipelines.dashboard.cache import page_data
from pipelines.reports import brief, export, metrics, presend, projection
from pipelines.reports.policy import load_policy
from pipelines.warehouse import reads

BREAKDOWNS = ("reason", "domain", "batch", "message_type")
ALLOW_LIST_ADVICE = "ask that organisation's IT to allow-list our sending domain"


def level_word(status: str | None, warning: float, cutoff: float) -> str:
    """A rate's verdict (`metrics.account_standing`) in words, with the level it was judged by."""
    if status == "exceeded":
        return f"at or over the {cutoff:.1%} cutoff"
    if status == "approaching":
        return f"at or over the {warning:.1%} warning level"
    if status == "ok":
        return f"below the {warning:.1%} warning level"
    return "no sends in the window"


# --- Overview -------------------------------------------------------------------------------------

@page_data
def account_overview(con, window_days: int = 30) -> dict:
    """The account's rates over the window ending at the newest event, judged against SES's account
    levels (`metrics.account_standing`), and its daily rates."""
    as_of = metrics.default_as_of(con)
    row = metrics.account_standing(con, as_of=as_of, window_days=window_days)
    daily = _daily(con, None, False, as_of, window_days)
    return {"as_of": as_of, "window_days": window_days, "account": row, "daily": daily}


def account_verdict(overview: dict) -> tuple[str, str]:
    """The account's standing in one line, and its severity ("error", "warning" or "success")."""
    account = overview["account"]
    if account is None or not account["sent"]:
        return "info", f"No sends in the last {overview['window_days']} days: nothing for SES to judge yet."
    lv = account["levels"]
    worst = account["status"]
    head = {"exceeded": "The account is over an SES cutoff: SES may pause sending",
            "approaching": "The account is over an SES warning level: SES may review it",
            "ok": "The account is below SES's warning levels"}[worst]
    return ({"exceeded": "error", "approaching": "warning", "ok": "success"}[worst],
            f"{head} (last {overview['window_days']} days: hard bounces {account['hard_rate']:.2%}, warning "
            f"{lv.warning:.0%} / cutoff {lv.cutoff:.0%}; complaints {account['complaint_rate']:.3%}, warning "
            f"{lv.complaint_warning:.1%} / cutoff {lv.complaint_cutoff:.1%}).")


def needs_attention(portals: pl.DataFrame) -> list[dict]:
    """The portals someone should look at today, worst first (`portals_by_status`'s order): each flagged
    alone, or (then judged with its sub-portals, `rollup` True) only once rolled up."""
    flagged = ("disabled", "exceeded", "approaching")
    out = []
    for r in portals.iter_rows(named=True):
        if r["status"] in flagged:
            out.append({**r, "rollup": False, "shown_status": r["status"], "shown_rate": r["hard_rate"]})
        elif r["rollup_status"] in flagged:
            out.append({**r, "rollup": True, "shown_status": r["rollup_status"],
                        "shown_rate": r["rollup_hard_rate"]})
    return out


def _daily(con, portal_id: str | None, rollup: bool, as_of: datetime | None,
           window_days: int) -> pl.DataFrame:
    if as_of is None:
        return reads.run(con, "daily_rates", since=date(1970, 1, 1), until=date(1970, 1, 1),
                         portals=None).clear()
    until = as_of.date()
    since = (as_of - timedelta(days=window_days)).date()
    return reads.run(con, "daily_rates", since=since, until=until,
                     portals=reads.members(con, portal_id, rollup))


@page_data
def status_table(con) -> pl.DataFrame:
    """`metrics.status_table`: every portal's status, read once per refresh for all the pages that
    need it (the Overview's list, the Portal page's row, the pickers' default and choices)."""
    return metrics.status_table(con)


@page_data
def portals_by_status(con) -> pl.DataFrame:
    """`metrics.status_table`, worst first: disabled, exceeded, approaching, then the rest, with
    each portal's daily hard-bounce rate over the last 30 days as a sparkline list (`trend`)."""
    table = status_table()
    as_of = metrics.default_as_of(con)
    if as_of is not None:
        trends = reads.run(con, "app_portal_trends", as_of=as_of, window_days=30)
        table = table.join(trends, on="portal_id", how="left")
    else:
        table = table.with_columns(trend=pl.lit(None, pl.List(pl.Float64)))
    return (
        metrics.worst_first(table)
        .select("portal_id", "name", "status", "hard_rate", "trend", "sent", "hard_bounced",
                "complaint_rate", "why", "rollup_status", "rollup_hard_rate", "rollup_sent")
    )


@page_data
def recent_alerts(con) -> pl.DataFrame:
    return reads.run(con, "app_recent_alerts")


@page_data
def freshness(con) -> dict:
    return reads.run(con, "freshness").row(0, named=True)


def remake_command(fresh: dict) -> str:
    """For a file `lake marts` wrote: the command that remakes it from its lake."""
    return f"python -m pipelines lake marts --lake {fresh['marts_lake']} --to FILE.duckdb"


def served_from_lake(fresh: dict) -> str | None:
    """For a file `lake marts` wrote (its `freshness`): where its numbers come from, in one sentence."""
    if fresh["marts_built_at"] is None:
        return None
    return (f"This file was computed on Spark from the lake {fresh['marts_lake']} (its export of load "
            f"{fresh['marts_load_id']}) at {fresh['marts_built_at']:%Y-%m-%d %H:%M} UTC by `python -m "
            "pipelines lake marts`. It is remade from the lake, never refreshed: no refresh runs, "
            "quarantine or alert channels belong to it.")


@page_data
def event_counts(con) -> pl.DataFrame:
    return reads.run(con, "event_counts")


# CloudWatch's names of SES's figures, as the loader records them, by the rate of ours each sits beside.
SES_METRICS = {"bounce": "Reputation.BounceRate", "complaint": "Reputation.ComplaintRate"}


@page_data
def ses_reputation(con) -> dict:
    """SES's own figures as the last fetch from CloudWatch recorded them (the app never calls AWS):
    `bounce` and `complaint`, each a row (value as a fraction, measured_at, fetched_at, region) or None
    when never fetched, and the `region` they are for."""
    try:
        rows = reads.run(con, "ses_reputation")
    except duckdb.CatalogException:  # a file from before the table existed: nothing fetched yet
        rows = pl.DataFrame()
    by_metric = {r["metric"]: r for r in rows.iter_rows(named=True)}
    figures = {key: by_metric.get(metric) for key, metric in SES_METRICS.items()}
    latest = max((r for r in figures.values() if r), key=lambda r: r["fetched_at"], default=None)
    return {**figures, "region": latest["region"] if latest else None}


# --- Portal ---------------------------------------------------------------------------------------

@page_data
def portal_options(con) -> pl.DataFrame:
    """Every known portal with the label the picker shows: "id — name"."""
    portals = reads.run(con, "app_portals")
    return portals.with_columns(
        label=pl.col("portal_id") + pl.lit(" — ") + pl.col("name").fill_null("(not in the directory)")
    )


@page_data
def portal_summary(con, portal_id: str, rollup: bool = False, window_days: int = 30) -> dict:
    """One portal's (or its roll-up's) status row and its daily rates over the window."""
    as_of = metrics.default_as_of(con)
    table = status_table().filter(pl.col("portal_id") == portal_id)
    row = table.row(0, named=True) if table.height else None
    if row is not None and rollup:
        row = {**row, "sent": row["rollup_sent"], "hard_bounced": row["rollup_hard_bounced"],
               "hard_rate": row["rollup_hard_rate"], "status": row["rollup_status"]}
    # The chart's lines: the levels the portal is judged by (its deciding window's), else the policy's.
    levels = load_policy().windows[0]
    warning, cutoff = (row["warning"], row["cutoff"]) if row is not None else (levels.warning, levels.cutoff)
    # The rate against those levels in words, whatever the volume (the status says whether it counts).
    rate_status = metrics.hard_rate_status(con, row["sent"], row["hard_bounced"], warning, cutoff) \
        if row is not None else None
    daily = _daily(con, portal_id, rollup, as_of, window_days)
    # What the policy judges: the deciding window's rate at the end of each day (status_timeline), and
    # the upload batches by the day they were first sent, for the trend chart.
    if as_of is None:
        judged = pl.DataFrame(schema={"day": pl.Date, "hard_rate": pl.Float64, "deciding_window": pl.String})
    else:
        judged = projection.status_timeline(
            con, None, (as_of - timedelta(days=window_days)).date(), as_of.date(), [portal_id], rollup,
        ).select("day", "hard_rate", "deciding_window")
    # Only the batches first sent inside the chart's window: an older one would stretch its axis.
    first_day = (as_of - timedelta(days=window_days)).date() if as_of is not None else None
    sent_batches = (
        reads.run(con, "app_batches", portal_id=portal_id, rollup=rollup)
        .filter(pl.col("first_sent").is_not_null())
        .select("batch_id", pl.col("first_sent").dt.date().alias("day"), "sent", "hard_bounced", "hard_rate")
        .filter(pl.lit(first_day is None) | (pl.col("day") >= pl.lit(first_day)))
    )
    return {"as_of": as_of, "status": row, "daily": daily, "judged": judged, "batches": sent_batches,
            "warning": warning, "cutoff": cutoff, "rate_status": rate_status}


@page_data
def breakdown(con, dimension: str, portal_id: str | None = None, rollup: bool = False,
              window_days: int = 30) -> pl.DataFrame:
    """Rates by reason, domain, batch or message type over the window, for the account or a portal."""
    return _breakdown(con, dimension, portal_id, rollup, window_days)


def _breakdown(con, dimension: str, portal_id: str | None, rollup: bool, window_days: int) -> pl.DataFrame:
    if dimension not in BREAKDOWNS:
        raise ValueError(f"dimension must be one of {', '.join(BREAKDOWNS)}")
    return metrics.rates(con, dimension, window_days=window_days, portal_id=portal_id, rollup=rollup)


@page_data
def portal_causes(con, portal_id: str, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_portal_causes", portals=reads.members(con, portal_id, rollup))


@page_data
def bounced(con, portal_id: str, rollup: bool = False, kind: str = "all",
            since: date | None = None) -> pl.DataFrame:
    """Exactly `export.bounced_addresses` for the portal: what the page shows is what the CSV holds."""
    return export.bounced_addresses(con, [portal_id], with_subportals=rollup, since=since, kind=kind)


@page_data
def forecast_sentence(con, portal_id: str, rollup: bool = False, status: str | None = None) -> str | None:
    """What happens next to a flagged portal's hard-bounce rate, in one sentence consistent with
    `status`, the status the page shows (default: the forecast's own); None when not flagged."""
    f = projection.forecast(con, portal_id, with_subportals=rollup)
    shown = status or f.status
    if shown not in ("disabled", "exceeded", "approaching"):
        return None
    who = f"{portal_id}{' with its sub-portals' if rollup else ''}"
    routine = f"{f.baseline_daily_sends:,.0f} sends a day at {f.baseline_hard_rate:.1%} hard bounces"
    if f.excluded_batch_id:
        routine += f", without upload batch {f.excluded_batch_id}"
    if shown == "disabled":
        if f.status in ("approaching", "exceeded") and f.recovers_on_without_sends:
            return (f"Mail to {who} is switched off in the directory, so nothing more is sent: its "
                    "hard-bounce rate falls back under the warning level on "
                    f"{f.recovers_on_without_sends:%Y-%m-%d}; fix the bounced addresses below before "
                    "switching it back on.")
        return (f"Mail to {who} is switched off in the directory, so nothing more is sent; fix the bounced "
                "addresses below before switching it back on.")
    if f.recovers_on:
        back = f"back under the warning level on {f.recovers_on:%Y-%m-%d}"
    else:
        back = f"still over the warning level in {f.horizon_days} days"
    if shown == "exceeded":
        return f"{who} is over the cutoff now; at its routine pace ({routine}) it is {back}."
    trend = (f"the last {f.trend_days:g} days' pace ({f.trend_daily_sends:,.0f} sends a day at "
             f"{f.trend_hard_rate:.1%})")
    if f.exceeds_on:
        return (f"{who} is over the warning level and, at {trend}, crosses the cutoff on "
                f"{f.exceeds_on:%Y-%m-%d}; at its routine pace ({routine}) it is {back}.")
    return (f"{who} is over the warning level but, at {trend}, stays under the cutoff for {f.horizon_days} "
            f"days; at its routine pace ({routine}) it is {back}.")


def worst_portal() -> str | None:
    """The portal that most needs attention (`brief.worst_portal`), the pages' default pick."""
    return brief.worst_portal(status_table())


# --- Domains --------------------------------------------------------------------------------------

@page_data
def domain_ranking(con, portal_id: str | None = None, rollup: bool = False,
                   window_days: int = 30) -> pl.DataFrame:
    """Recipient domains by hard bounces, then rate, with the typo suggestion where there is one."""
    ranked = _breakdown(con, "domain", portal_id, rollup, window_days).rename({"key": "domain"})
    typos = reads.run(con, "app_domain_typos", portal_id=portal_id, rollup=rollup).select(
        "domain", pl.col("suggestion").alias("typo_of"))
    return ranked.join(typos, on="domain", how="left").sort(
        "hard_bounced", pl.col("hard_rate").fill_null(-1.0), "domain", descending=[True, True, False])


@page_data
def domain_typos(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_domain_typos", portal_id=portal_id, rollup=rollup)


@page_data
def rejecting_domains(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    found = reads.run(con, "app_rejecting_domains", portals=reads.members(con, portal_id, rollup))
    return found.with_columns(advice=pl.lit(ALLOW_LIST_ADVICE))


# --- Upload batches -------------------------------------------------------------------------------

@page_data
def batches(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_batches", portal_id=portal_id, rollup=rollup)


@page_data
def batch_bounced(con, batch_id: str, portal_id: str) -> pl.DataFrame:
    """The batch's bounced addresses: the portal's export rows whose upload batch is this one."""
    rows = export.bounced_addresses(con, [portal_id])
    return rows.filter(pl.col("upload_batch_id") == batch_id)


# --- Address lookup -------------------------------------------------------------------------------

@page_data
def matching_addresses(con, q: str) -> pl.DataFrame:
    """At most 50 addresses containing `q` (case-insensitive, taken literally), from mail and directory."""
    return reads.run(con, "lookup_addresses", q=q)


@page_data
def address_record(con, address: str) -> dict:
    """One address: the verdict sentence, the portals it belongs to, and its event history (oldest first).

    The verdict is judged from the very portal rows the page lists, so they cannot disagree."""
    portals = reads.run(con, "lookup_portals", address=address)
    events = reads.run(con, "lookup_events", address=address)
    return {"verdict": brief.address_verdict(address, portals), "portals": portals, "events": events}


# --- Restore brief and pre-send check -------------------------------------------------------------

def portals_with_status() -> dict:
    """The portals with mail on record (`metrics.status_table`'s rows, by id), and the worst of them:
    the portals a restore brief or a pre-send projection can be made for."""
    status = status_table()
    return {"ids": status["portal_id"].to_list(), "worst": brief.worst_portal(status)}


@page_data
def restore_brief(con, portal_id: str) -> dict:
    """The portal's restore brief (`brief.restore_brief`), its status line and both documents."""
    b = brief.restore_brief(con, portal_id, status_table=status_table())
    return {"brief": b, "status_line": brief.status_line(b), "markdown": brief.to_markdown(b),
            "html": brief.to_html(b)}


def listed_addresses(upload: bytes | None, pasted: str) -> list[str]:
    """The addresses to check, in order as given: from the uploaded CSV if there is one, else the box."""
    return presend.parse_csv(upload) if upload is not None else presend.parse_text(pasted)


@page_data
def presend_check(con, portal_id: str | None, addresses: tuple[str, ...]) -> presend.PresendCheck:
    """Each address flagged, and with a portal the projection of sending the list to it now."""
    return presend.check(con, portal_id, addresses)


# --- Pipeline health ------------------------------------------------------------------------------

@page_data
def refresh_runs(con, limit: int = 200) -> pl.DataFrame:
    """The newest refresh runs, newest first."""
    return reads.run(con, "loads", limit=limit)


@page_data
def quarantined_records(con, limit: int = 5000) -> pl.DataFrame:
    """The newest quarantined input records, with where they came from and why."""
    return reads.run(con, "quarantine", limit=limit)


@page_data
def quarantine_reasons(con, limit: int = 5000) -> pl.DataFrame:
    """Records per reason among `quarantined_records(limit)`, most first."""
    records = reads.run(con, "quarantine", limit=limit)
    return records.group_by("reason").len("records").sort("records", "reason", descending=[True, False])


@page_data
def unattributed_events(con, limit: int = 500) -> pl.DataFrame:
    """Events no tag, header, Send event or directory entry could give a portal, most first."""
    return reads.run(con, "unattributed", limit=limit)


@page_data
def objects_by_status(con) -> pl.DataFrame:
    """Input objects read so far, by status (ok, partial, failed)."""
    return reads.run(con, "health_objects_by_status")


@page_data
def channel_health(con) -> pl.DataFrame:
    """Every alert channel the database has seen: its last delivery and failure, its backlog."""
    return reads.run(con, "channel_health", now=datetime.now(UTC))


@page_data
def skipped_control_messages(con) -> pl.DataFrame:
    """Per load, the SNS/SES control messages read and set aside (not problems, not quarantined)."""
    return reads.run(con, "health_skipped")
