"""Rates, status and alerts: the numbers every page and every CSV is built on, from queries/reads/."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import warehouse
from pipelines.reports.policy import Policy, load_policy
from pipelines.warehouse import reads

DIMENSIONS = ("account", "portal", "rollup", "domain", "batch", "message_type", "reason")


def default_as_of(con) -> datetime | None:
    """The newest event loaded: rates 'now' mean as of the data, not the wall clock."""
    return reads.run(con, "latest_event")["as_of"][0]


def rates(con, dimension: str, as_of: datetime | None = None, window_days: int = 30,
          portal_id: str | None = None, rollup: bool = False) -> pl.DataFrame:
    """Window rates by `dimension`, for the account or only `portal_id` (with sub-portals if `rollup`)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    as_of = as_of or default_as_of(con)
    if as_of is None:  # nothing loaded: an empty frame of the right shape
        as_of, window_days = datetime(1970, 1, 1), 0
    return reads.run(con, "rates", dimension=dimension, as_of=as_of, window_days=window_days,
                     portals=reads.members(con, portal_id, rollup))


def portal_status(con, policy: Policy | None = None, as_of: datetime | None = None,
                  window_days: int | None = None, judge_again: bool = False) -> pl.DataFrame:
    """Per portal and scope (alone / rollup): the deciding window's figures and the status.
    `judge_again`: never the recorded judgement (a commit judging the data it is changing)."""
    policy = policy or load_policy()
    windows = policy.windows_frame()
    if window_days is not None:
        windows = windows.with_columns(days=pl.lit(float(window_days)))
    as_of = as_of or default_as_of(con) or datetime(1970, 1, 1)
    # The last commit judged every portal under its policy at the newest event: a read asking the
    # same of the same data is answered by that judgement (one small table) instead of by the sums.
    if not judge_again and warehouse.has_table(con, "_status_judged"):
        judged = reads.run(con, "status_judged", as_of=as_of, windows_key=windows_key(windows))
        if judged.height:
            return judged
    return reads.run(con, "portal_status", tables={"policy_windows": windows}, as_of=as_of)


def windows_key(windows: pl.DataFrame) -> str:
    """What identifies a policy's windows and levels (`Policy.windows_frame`) in _status_judged."""
    return hashlib.sha256(windows.sort("portal_id", "name").write_csv().encode()).hexdigest()


def status_table(con, policy: Policy | None = None, as_of: datetime | None = None,
                 window_days: int | None = None) -> pl.DataFrame:
    """The `status` command's rows: each portal alone, with its roll-up figures beside it. `severity`
    ranks the status (queries/macros.sql `status_severity`: disabled worst); `why` names the level
    it was judged against."""
    return status_rows(portal_status(con, policy, as_of, window_days))


def status_rows(s: pl.DataFrame) -> pl.DataFrame:
    """`status_table` from `portal_status`'s frame, for a caller that also needs that frame."""
    alone = s.filter(pl.col("scope") == "alone").drop("scope")
    rollup = s.filter(pl.col("scope") == "rollup").select(
        "portal_id",
        pl.col("sent").alias("rollup_sent"),
        pl.col("hard_bounced").alias("rollup_hard_bounced"),
        pl.col("hard_rate").alias("rollup_hard_rate"),
        pl.col("status").alias("rollup_status"),
    )
    return alone.join(rollup, on="portal_id", how="left").select(
        "portal_id", "name", "parent_portal_id", "sent", "hard_bounced", "hard_rate", "soft_bounced",
        "complaints", "complaint_rate", "status", "severity", "why", "deciding_window", "warning", "cutoff",
        "rollup_sent",
        "rollup_hard_bounced", "rollup_hard_rate", "rollup_status",
    ).sort("portal_id")


JUDGED_SCHEMA = {
    "grp": pl.String, "window_name": pl.String, "sent": pl.Float64, "hard_bounced": pl.Float64,
    "complaints": pl.Float64, "min_sent": pl.Int64, "min_hard_bounces": pl.Int64,
    "min_complaints": pl.Int64, "warning": pl.Float64, "cutoff": pl.Float64,
    "complaint_warning": pl.Float64, "complaint_cutoff": pl.Float64,
}


def judge(con, windows: list[dict[str, Any]]) -> pl.DataFrame:
    """Windows computed here (grp, window_name, sent, hard_bounced, complaints or None for the hard
    levels only, the levels, min_sent, and min_hard_bounces / min_complaints or None for no minimum of
    events), judged by the same SQL verdict as every status read (queries/reads/judged_windows.sql):
    each with its status, severity and whether it decides its grp."""
    frame = pl.DataFrame([{k: w.get(k) for k in JUDGED_SCHEMA} for w in windows], schema=JUDGED_SCHEMA)
    return reads.run(con, "judged_windows", tables={"windows": frame})


def account_standing(con, policy: Policy | None = None, as_of: datetime | None = None,
                     window_days: int = 30) -> dict[str, Any] | None:
    """The whole account's rates over the window ending at `as_of` (default: the newest event), each
    judged against SES's account levels (the policy's [account]) by the window verdict every status
    uses: the `rates` row plus `levels`, `hard_status` and `complaint_status` (ok, approaching or
    exceeded) and `status`, both judged together (the worse of the two). None when nothing is
    loaded."""
    levels = (policy and policy.account) or load_policy().account
    # The account is judged on all its mail, as SES reviews it: no minimum of sends or of events.
    row = rates(con, "account", as_of=as_of, window_days=window_days)
    if row.is_empty():
        return None
    account = row.row(0, named=True)
    hard = {"grp": "hard", "window_name": "account", "sent": account["sent"], "min_sent": 0,
            "min_hard_bounces": 0, "hard_bounced": account["hard_bounced"], "warning": levels.warning,
            "cutoff": levels.cutoff}
    complaint = {"grp": "complaint", "window_name": "account", "sent": account["sent"], "min_sent": 0,
                 "min_complaints": 0, "complaints": account["complaints"],
                 "complaint_warning": levels.complaint_warning, "complaint_cutoff": levels.complaint_cutoff}
    both = {**hard, **complaint, "grp": "both"}
    verdict = dict(judge(con, [hard, complaint, both]).select("grp", "status").iter_rows())
    return {**account, "levels": levels, "hard_status": verdict["hard"],
            "complaint_status": verdict["complaint"], "status": verdict["both"]}


def hard_rate_status(con, sent: int, hard_bounced: int, warning: float, cutoff: float) -> str | None:
    """Where a hard-bounce rate stands against a warning and a cutoff, whatever the volume (ok,
    approaching, exceeded), by the window verdict every status uses; None without sends."""
    if not sent:
        return None
    row = {"grp": "rate", "window_name": "rate", "sent": sent, "hard_bounced": hard_bounced,
           "min_sent": 0, "min_hard_bounces": 0, "warning": warning, "cutoff": cutoff}
    return judge(con, [row])["status"][0]


def worst_first(table: pl.DataFrame) -> pl.DataFrame:
    """Status rows worst first: by severity (disabled worst), then hard-bounce rate, then sends."""
    return table.sort(["severity", "hard_rate", "sent", "portal_id"], descending=[True, True, True, False],
                      nulls_last=True)


def read_status(db: Path, policy: Policy | None = None, as_of: datetime | None = None,
                window_days: int | None = None) -> pl.DataFrame:
    with warehouse.reader(db) as con:
        return status_table(con, policy, as_of, window_days)
