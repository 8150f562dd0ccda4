"""Status transitions: each refresh judges every portal and records what changed since the last one."""

from __future__ import annotations

import polars as pl

from pipelines.reports import metrics
from pipelines.reports.policy import Policy, load_policy
from pipelines.warehouse import catalog, reads

# A portal seen for the first time is worth an alert only if it is already in trouble.
_QUIET_FIRST = ("ok", "insufficient_volume")


def record_transitions(con, load_id: int, policy: Policy | None = None) -> pl.DataFrame:
    """Judge every portal now, store the statuses, insert and return the transitions as alerts.

    Runs inside the refresh's transaction, so alerts and the data that caused them commit together.
    """
    policy = policy or load_policy()
    now = metrics.portal_status(con, policy, judge_again=True)
    as_of = metrics.default_as_of(con)
    current = now.select(
        "portal_id", "scope", "status", "hard_rate", "complaint_rate", "sent",
        pl.lit(as_of).alias("as_of"), pl.lit(load_id, pl.Int64).alias("load_id"), "deciding_window",
    )
    before = reads.run(con, "last_statuses")
    joined = current.join(before, on=["portal_id", "scope"], how="left")
    changed = joined.filter(
        (pl.col("from_status").is_null() & ~pl.col("status").is_in(_QUIET_FIRST))
        | (pl.col("from_status").is_not_null() & (pl.col("from_status") != pl.col("status")))
    )
    alerts = changed.select(
        pl.lit(load_id, pl.Int64).alias("load_id"), "as_of", "portal_id", "scope", "from_status",
        pl.col("status").alias("to_status"), "hard_rate", "complaint_rate", "sent", "deciding_window",
    )
    judged = now.with_columns(
        pl.lit(as_of).alias("as_of"),
        pl.lit(metrics.windows_key(policy.windows_frame())).alias("windows_key"),
        pl.lit(load_id, pl.Int64).alias("load_id"),
    )
    catalog.run_script(con, "commit/record_statuses.sql",
                       tables={"current": current, "alerts": alerts, "judged": judged})
    return changed.select("portal_id", "scope", "from_status", pl.col("status").alias("to_status"),
                          "hard_rate", "sent").sort("portal_id", "scope")
