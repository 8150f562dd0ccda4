"""Page data for the Overview, Portal, Domains and Upload batches pages.

Each public function takes an open connection first and returns polars frames, dicts or strings, so a
page calls it through `ui.call(fn, **kwargs)` (cached until the next refresh commits). The SQL lives in
queries/reads/app_*.sql; every value from a user reaches it as a bound parameter. `rate_figure` builds
the daily-rate chart the pages share.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from pipelines.reports import export, metrics, projection
from pipelines.warehouse import reads

HARD_WARNING, HARD_CUTOFF = 0.05, 0.10
COMPLAINT_WARNING, COMPLAINT_CUTOFF = 0.001, 0.005
STATUS_ORDER = {"disabled": 0, "exceeded": 1, "approaching": 2, "ok": 3, "insufficient_volume": 4}
BREAKDOWNS = ("reason", "domain", "batch", "message_type")
ALLOW_LIST_ADVICE = "ask that organisation's IT to allow-list our sending domain"


def level_word(rate: float | None, warning: float, cutoff: float) -> str:
    if rate is None:
        return "no sends in the window"
    if rate >= cutoff:
        return f"at or over the {cutoff:.1%} cutoff"
    if rate >= warning:
        return f"at or over the {warning:.1%} warning level"
    return f"below the {warning:.1%} warning level"


# --- Overview -------------------------------------------------------------------------------------

def account_overview(con, window_days: int = 30) -> dict:
    """The account's rates over the window ending at the newest event, and its daily rates."""
    as_of = metrics.default_as_of(con)
    account = metrics.rates(con, "account", as_of=as_of, window_days=window_days)
    row = account.row(0, named=True) if account.height else None
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
        table.with_columns(
            _order=pl.col("status").replace_strict(STATUS_ORDER, default=9, return_dtype=pl.Int8))
        .sort("_order", pl.col("hard_rate").fill_null(-1.0), "portal_id", descending=[False, True, False])
        .select("portal_id", "name", "status", "hard_rate", "trend", "sent", "hard_bounced",
                "complaint_rate", "why", "rollup_status", "rollup_hard_rate", "rollup_sent")
    )


def recent_alerts(con) -> pl.DataFrame:
    return reads.run(con, "app_recent_alerts")


def freshness(con) -> dict:
    return reads.run(con, "freshness").row(0, named=True)


def event_counts(con) -> pl.DataFrame:
    return reads.run(con, "event_counts")


# --- Portal ---------------------------------------------------------------------------------------

def portal_options(con) -> pl.DataFrame:
    """Every known portal with the label the picker shows: "id — name"."""
    portals = reads.run(con, "app_portals")
    return portals.with_columns(
        label=pl.col("portal_id") + pl.lit(" — ") + pl.col("name").fill_null("(not in the directory)")
    )


def portal_summary(con, portal_id: str, rollup: bool = False, window_days: int = 30) -> dict:
    """One portal's (or its roll-up's) status row and its daily rates over the window."""
    as_of = metrics.default_as_of(con)
    table = metrics.status_table(con).filter(pl.col("portal_id") == portal_id)
    row = table.row(0, named=True) if table.height else None
    if row is not None and rollup:
        row = {**row, "sent": row["rollup_sent"], "hard_bounced": row["rollup_hard_bounced"],
               "hard_rate": row["rollup_hard_rate"], "status": row["rollup_status"]}
    return {"as_of": as_of, "status": row, "daily": _daily(con, portal_id, rollup, as_of, window_days)}


def breakdown(con, dimension: str, portal_id: str | None = None, rollup: bool = False,
              window_days: int = 30) -> pl.DataFrame:
    """Rates by reason, domain, batch or message type over the window, for the account or a portal."""
    if dimension not in BREAKDOWNS:
        raise ValueError(f"dimension must be one of {', '.join(BREAKDOWNS)}")
    return metrics.rates(con, dimension, window_days=window_days, portal_id=portal_id, rollup=rollup)


def portal_causes(con, portal_id: str, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_portal_causes", portals=reads.members(con, portal_id, rollup))


def bounced(con, portal_id: str, rollup: bool = False, kind: str = "all",
            since: date | None = None) -> pl.DataFrame:
    """Exactly `export.bounced_addresses` for the portal: what the page shows is what the CSV holds."""
    return export.bounced_addresses(con, [portal_id], with_subportals=rollup, since=since, kind=kind)


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

def domain_ranking(con, portal_id: str | None = None, rollup: bool = False,
                   window_days: int = 30) -> pl.DataFrame:
    """Recipient domains by hard bounces, then rate, with the typo suggestion where there is one."""
    ranked = breakdown(con, "domain", portal_id, rollup, window_days).rename({"key": "domain"})
    typos = reads.run(con, "app_domain_typos", portal_id=portal_id, rollup=rollup).select(
        "domain", pl.col("suggestion").alias("typo_of"))
    return ranked.join(typos, on="domain", how="left").sort(
        "hard_bounced", pl.col("hard_rate").fill_null(-1.0), "domain", descending=[True, True, False])


def domain_typos(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_domain_typos", portal_id=portal_id, rollup=rollup)


def rejecting_domains(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    found = reads.run(con, "app_rejecting_domains", portals=reads.members(con, portal_id, rollup))
    return found.with_columns(advice=pl.lit(ALLOW_LIST_ADVICE))


# --- Upload batches -------------------------------------------------------------------------------

def batches(con, portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    return reads.run(con, "app_batches", portal_id=portal_id, rollup=rollup)


def batch_bounced(con, batch_id: str, portal_id: str) -> pl.DataFrame:
    """The batch's bounced addresses: the portal's export rows whose upload batch is this one."""
    rows = export.bounced_addresses(con, [portal_id])
    return rows.filter(pl.col("upload_batch_id") == batch_id)


# --- charts ---------------------------------------------------------------------------------------

def rate_figure(daily: pl.DataFrame, rate: str = "hard_rate", count: str = "hard_bounced",
                warning: float = HARD_WARNING, cutoff: float = HARD_CUTOFF,
                rate_label: str = "Hard-bounce rate", height: int = 320) -> go.Figure:
    """Daily rate (line, left axis) over sends (bars, right axis), warning and cutoff lines labelled."""
    days = daily["day"].to_list()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(
        x=days, y=daily["sent"].to_list(), name="Sends", opacity=0.35,
        hovertemplate="%{x|%Y-%m-%d}<br>%{y:,} sends<extra></extra>",
    ), secondary_y=True)
    fig.add_trace(go.Scatter(
        x=days, y=daily[rate].to_list(), name=rate_label, mode="lines+markers",
        customdata=list(zip(daily[count].to_list(), daily["sent"].to_list(), strict=True)),
        hovertemplate=(f"%{{x|%Y-%m-%d}}<br>{rate_label} %{{y:.2%}}"
                       "<br>%{customdata[0]:,} of %{customdata[1]:,} sends<extra></extra>"),
    ), secondary_y=False)
    fig.add_hline(y=warning, line_dash="dash", line_color="orange",
                  annotation_text=f"warning {warning:.1%}", annotation_position="top left")
    fig.add_hline(y=cutoff, line_dash="dash", line_color="red",
                  annotation_text=f"cutoff {cutoff:.1%}", annotation_position="top left")
    top = max([cutoff * 1.25, *[r for r in daily[rate].to_list() if r is not None]])
    fig.update_yaxes(title_text=rate_label, tickformat=".1%", range=[0, top * 1.05], secondary_y=False)
    fig.update_yaxes(title_text="Sends", showgrid=False, secondary_y=True)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.12})
    return fig
