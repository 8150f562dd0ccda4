"""The daily digest's figures: the account against SES's levels, the portals approaching or over, and
the biggest movers of the judged hard-bounce rate since the day before — for people who would rather
read one message a day than one per change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from pipelines.reports import metrics, projection
from pipelines.reports.policy import Policy

MOVERS = 5
AT_RISK = ("disabled", "exceeded", "approaching")


def digest_figures(con, policy: Policy | None = None, window_days: int = 30) -> dict[str, Any]:
    """As of the newest event: `account` (or None without sends), `portals` at risk worst first,
    `movers` (portal, judged rate at the end of the day before and now, change), largest change first."""
    as_of = metrics.default_as_of(con)
    if as_of is None:
        return {"as_of": None, "account": None, "portals": [], "movers": []}
    row = metrics.account_standing(con, policy, as_of=as_of, window_days=window_days)
    account = None
    if row is not None and row["sent"]:
        lv = row["levels"]
        account = {"window_days": window_days, "sent": row["sent"], "hard_rate": row["hard_rate"],
                   "complaint_rate": row["complaint_rate"], "status": row["status"],
                   "warning": lv.warning, "cutoff": lv.cutoff,
                   "complaint_warning": lv.complaint_warning, "complaint_cutoff": lv.complaint_cutoff}
    table = metrics.worst_first(metrics.status_table(con, policy))
    portals = (table.filter(pl.col("status").is_in(AT_RISK))
               .select("portal_id", "name", "status", "hard_rate", "sent", "why").to_dicts())
    today = as_of.date()
    timeline = projection.status_timeline(con, policy, today - timedelta(days=1), today)
    names = table.select("portal_id", "name")
    movers = (
        timeline.pivot(on="day", index="portal_id", values="hard_rate")
        .rename({str(today - timedelta(days=1)): "before", str(today): "after"}, strict=False)
    )
    if {"before", "after"} <= set(movers.columns):
        movers = (
            movers.with_columns(change=pl.col("after") - pl.col("before"))
            .filter(pl.col("change").is_not_null() & (pl.col("change") != 0))
            .join(names, on="portal_id", how="left")
            .sort(pl.col("change").abs(), "portal_id", descending=[True, False])
            .head(MOVERS)
            .select("portal_id", "name", "before", "after", "change")
            .to_dicts()
        )
    else:
        movers = []
    return {"as_of": as_of.isoformat(), "account": account, "portals": portals, "movers": movers}
