"""Page data: every number a page shows, one plainly named function per thing shown.

Each `@page_data` function is written to take an open connection first and returns polars frames,
dicts, strings or frozen dataclasses; a page calls it without the connection
(`data.portal_summary(portal_id="p004", rollup=True)`), on its own short-lived reader, cached until the
next refresh commits (pipelines/dashboard/cache.py). The SQL lives in queries/reads/; every value from
a user reaches it as a bound parameter. The numbers come from pipelines.reports and the reads, never
from a page.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

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
def portals_by_status(con) -> pl.DataFrame:
    """`metrics.status_table`, worst first: disabled, exceeded, approaching, then the rest, with
    each portal's daily hard-bounce rate over the last 30 days as a sparkline list (`trend`)."""
    table = metrics.status_table(con)
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


@page_data
def event_counts(con) -> pl.DataFrame:
    return reads.run(con, "event_counts")


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
    table = metrics.status_table(con).filter(pl.col("portal_id") == portal_id)
    row = table.row(0, named=True) if table.height else None
    if row is not None and rollup:
        row = {**row, "sent": row["rollup_sent"], "hard_bounced": row["rollup_hard_bounced"],
               "hard_rate": row["rollup_hard_rate"], "status": row["rollup_status"]}
    # The chart's lines: the levels the portal is judged by (its deciding window's), else the policy's.
    levels = load_policy().windows[0]
    warning, cutoff = (row["warning"], row["cutoff"]) if row is not None else (levels.warning, levels.cutoff)
    return {"as_of": as_of, "status": row, "daily": _daily(con, portal_id, rollup, as_of, window_days),
            "warning": warning, "cutoff": cutoff}


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
def forecast_sentence(con, portal_id: str, rollup: bool = False) -> str | None:
    """Where an at-risk portal's hard-bounce rate is heading, in one paragraph; None when not at risk."""
    f = projection.forecast(con, portal_id, with_subportals=rollup)
    if f.status not in ("approaching", "exceeded"):
        return None
    who = f"{portal_id}{' with its sub-portals' if rollup else ''}"
    routine = f"about {f.baseline_daily_sends:,.0f} sends a day at {f.baseline_hard_rate:.1%} hard bounces"
    if f.excluded_batch_id:
        routine += f", leaving out upload batch {f.excluded_batch_id}"
    if f.recovers_on:
        recover = f"falls back under the warning level on {f.recovers_on:%Y-%m-%d}"
    else:
        recover = f"does not fall back under the warning level within {f.horizon_days} days"
    if f.recovers_on_without_sends:
        recover += f" (with no new sends: {f.recovers_on_without_sends:%Y-%m-%d})"
    trend = (f"At the last {f.trend_days:g} days' trend ({f.trend_daily_sends:,.0f} sends a day at "
             f"{f.trend_hard_rate:.1%})")
    if f.status == "exceeded":
        crossing = f"{who} is over the cutoff now."
    elif f.exceeds_on:
        crossing = f"{trend} it would cross the cutoff on {f.exceeds_on:%Y-%m-%d}."
    else:
        crossing = f"{trend} it would not cross the cutoff within {f.horizon_days} days."
    return f"{who} is {f.status}. At its routine pace ({routine}) it {recover}. {crossing}"


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

@page_data
def portals_with_status(con) -> dict:
    """The portals with mail on record (`metrics.status_table`'s rows, by id), and the worst of them:
    the portals a restore brief or a pre-send projection can be made for."""
    status = metrics.status_table(con)
    return {"ids": status["portal_id"].to_list(), "worst": brief.worst_portal(status)}


@page_data
def restore_brief(con, portal_id: str) -> dict:
    """The portal's restore brief (`brief.restore_brief`), its status line and both documents."""
    b = brief.restore_brief(con, portal_id)
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
