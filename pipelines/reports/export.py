"""Customer exports: the bounced-address list of one or more portals, optionally with their sub-portals.

The rows come from queries/reads/bounced_addresses.sql over `mart_address_facts`; every value reaches
SQL as a bound parameter. `to_csv` makes the bytes a customer opens in Excel (csv_safe: UTF-8 with BOM,
formula cells neutralised). Scope is exact: the portals asked for, plus the portals below them only
when asked; unattributed mail and every other portal stay out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from pipelines.reports import csv_safe
from pipelines.reports.policy import Policy, load_policy
from pipelines.warehouse import reads

KINDS = ("hard", "soft", "all")
BOUNCED_COLUMNS = (
    "learner_name", "email", "portal_id", "user_status", "bounce_type", "reason", "diagnostic",
    "first_bounce", "last_bounce", "bounce_count", "upload_batch_id", "recommended_action",
)


class UnknownPortal(ValueError):
    """A portal id neither the directory nor any loaded event knows."""

    def __init__(self, ids: list[str]):
        self.ids = ids
        super().__init__(
            f"unknown portal id{'s' if len(ids) > 1 else ''}: {', '.join(ids)} "
            "(list the portal ids with `python -m pipelines status`)"
        )


@dataclass(frozen=True)
class Scope:
    asked: list[str]
    portals: list[str]  # asked ids, then the sub-portals they bring in, each once


def _clean_ids(portals: list[str]) -> list[str]:
    ids = list(dict.fromkeys(p.strip() for p in portals if p and p.strip()))
    if not ids:
        raise ValueError("give at least one portal id")
    return ids


def scope(con, portals: list[str], with_subportals: bool = False) -> Scope:
    """The portals an export covers; raises UnknownPortal for an id nothing knows."""
    ids = _clean_ids(portals)
    rows = reads.run(con, "export_scope", portals=ids, with_subportals=with_subportals)
    unknown = rows.filter(pl.col("asked") & ~pl.col("known"))["portal_id"].to_list()
    if unknown:
        raise UnknownPortal(unknown)
    return Scope(ids, list(dict.fromkeys(rows["portal_id"].to_list())))


def _utc(since: datetime | date | None) -> datetime | None:
    if since is None:
        return None
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day)
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def bounced_addresses(con, portals: list[str], with_subportals: bool = False,
                      since: datetime | None = None, kind: str = "all", *,
                      policy: Policy | None = None) -> pl.DataFrame:
    """One row per bounced address of the portals (and their sub-portals), in BOUNCED_COLUMNS order.

    `kind` hard | soft | all; `since` keeps addresses whose last bounce is at or after it (naive = UTC).
    The recommended action uses the policy's `soft_bounces_before_suppress` (default policy if none).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    covered = scope(con, portals, with_subportals).portals
    policy = policy or load_policy()
    con.execute("set variable soft_bounces_before_suppress = ?", [policy.soft_bounces_before_suppress])
    df = reads.run(con, "bounced_addresses", portals=covered, since=_utc(since), kind=kind)
    return df.select(BOUNCED_COLUMNS)


def to_csv(df: pl.DataFrame) -> bytes:
    """The bytes a customer receives: header row, UTF-8 with BOM, no cell that runs as a formula."""
    return csv_safe.to_safe_csv(df)
