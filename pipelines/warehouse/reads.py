"""Read functions behind the app's pages: parameterised SQL from queries/reads/, results as polars.

Every value from a user reaches SQL as a bound parameter, never as SQL text.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

from pipelines import warehouse
from pipelines.warehouse import catalog

READS_DIR = catalog.QUERIES_DIR / "reads"


@cache
def _sql(name: str) -> str:
    return (READS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def read(db: Path, name: str, tables: dict[str, pl.DataFrame] | None = None, **params) -> pl.DataFrame:
    """Run queries/reads/<name>.sql against the database with the named parameters bound.

    `tables` are polars frames the query reads by name (e.g. the policy's windows).
    """
    with warehouse.reader(db) as con:
        return run(con, name, tables, **params)


def run(con, name: str, tables: dict[str, pl.DataFrame] | None = None, **params) -> pl.DataFrame:
    """The same on an open connection (the refresh uses it inside its transaction)."""
    sql = _sql(name)
    used = catalog.bound(sql, params)
    missing = set(re.findall(r"\$([a-z_0-9]+)", sql)) - set(used or {})
    if missing:
        raise TypeError(f"read {name} needs {', '.join(sorted(missing))}")
    with catalog.registered(con, tables):
        # Through the Arrow stream interface, as `catalog.ArrowStream`: `.pl()` would import pyarrow.
        return pl.DataFrame(con.sql(sql, params=used))


def members(con, portal_id: str | None, rollup: bool = False) -> list[str] | None:
    """The portals a read about `portal_id` covers (None: the whole account), resolved before the read
    so the list reaches its table scans as a constant they can filter on."""
    if portal_id is None:
        return None
    return run(con, "portal_members", portal_id=portal_id, rollup=rollup)["members"].to_list()[0]
