"""CSV that opens safely in a spreadsheet: UTF-8 with BOM for Excel, and no cell that runs as a formula."""

from __future__ import annotations

import polars as pl

# OWASP CSV injection: a cell starting with = + - @ tab or CR is read as a formula by spreadsheets.
_FORMULA_PATTERN = r"^[=+\-@\t\r]"


def to_safe_csv(df: pl.DataFrame) -> bytes:
    """Every string cell neutralised; a BOM so Excel reads UTF-8 (names like "Zoë Müller")."""
    safe = df.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_PATTERN)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c))
        .alias(c)
        for c, dtype in df.schema.items() if dtype == pl.String
    )
    return "\ufeff".encode() + safe.write_csv().encode("utf-8")
