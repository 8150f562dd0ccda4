"""Read functions behind the app's pages: parameterised SQL from queries/reads/, results as polars.

Every value from a user reaches SQL as a bound parameter, never as SQL text.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from pipelines import store

READS_DIR = store.QUERIES_DIR / "reads"


@cache
def _sql(name: str) -> str:
    return (READS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def read(db: Path, name: str, **params) -> pl.DataFrame:
    """Run queries/reads/<name>.sql against the database with the named parameters bound."""
    sql = _sql(name)
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    with store.reader(db) as con:
        return con.sql(sql, params=used or None).pl()
