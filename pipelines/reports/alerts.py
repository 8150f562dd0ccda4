"""Status transitions: each refresh judges every portal and records what changed since the last one."""

from __future__ import annotations

import polars as pl

from pipelines.reports import metrics
from pipelines.reports.policy import Policy

# A portal seen for the first time is worth an alert only if it is already in trouble.
_QUIET_FIRST = ("ok", "insufficient_volume")


def record_transitions(con, load_id: int, policy: Policy | None = None) -> pl.DataFrame:
    """Judge every portal now, store the statuses, insert and return the transitions as alerts.

    Runs inside the refresh's transaction, so alerts and the data that caused them commit together.
    """
    now = metrics.portal_status(con, policy)
    as_of = metrics.default_as_of(con)
    current = now.select(
        "portal_id", "scope", "status", "hard_rate", "complaint_rate", "sent",
        pl.lit(as_of).alias("as_of"), pl.lit(load_id, pl.Int64).alias("load_id"),
    )
    before = pl.from_arrow(con.sql("select portal_id, scope, status as from_status from _portal_status")
                           .to_arrow_table())
    joined = current.join(before, on=["portal_id", "scope"], how="left")
    changed = joined.filter(
        (pl.col("from_status").is_null() & ~pl.col("status").is_in(_QUIET_FIRST))
        | (pl.col("from_status").is_not_null() & (pl.col("from_status") != pl.col("status")))
    )
    alerts = changed.select(  # noqa: F841 - read by name below
        pl.lit(load_id, pl.Int64).alias("load_id"), "as_of", "portal_id", "scope", "from_status",
        pl.col("status").alias("to_status"), "hard_rate", "complaint_rate", "sent",
    )
    con.execute("insert into _alerts select load_id, now(), * exclude (load_id) from alerts")
    con.execute("delete from _portal_status")
    con.execute("insert into _portal_status select * from current")
    return changed.select("portal_id", "scope", "from_status", pl.col("status").alias("to_status"),
                          "hard_rate", "sent").sort("portal_id", "scope")
