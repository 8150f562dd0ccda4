"""The golden Spark SQL of every model and read: tests/fixtures/spark_sql/models/<model>.sql and
reads/<read>.sql, as pipelines/lake/spark_sql.py writes them (a model over every key; the reads of
`spark_sql.DUCKDB_ONLY` have none). A change to a model, a read, the rewrite pass or sqlglot shows as
a difference (tests/unit/test_spark_sql.py); after reviewing it:

    python -m tests.support.spark_golden            # lists the files that differ (exit 1 if any)
    python -m tests.support.spark_golden --write    # rewrites them
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.lake import spark_sql
from pipelines.warehouse import catalog

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "spark_sql"


def expected() -> dict[str, str]:
    """Each golden file's path under GOLDEN_DIR and the text it should hold."""
    files = {f"models/{m.name}.sql": spark_sql.spark_model(m.name) for m in catalog.models()}
    files |= {f"reads/{name}.sql": text for name, text in spark_sql.spark_reads().items()}
    return files


def stored() -> dict[str, str]:
    return {p.relative_to(GOLDEN_DIR).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(GOLDEN_DIR.glob("*/*.sql"))}


def differences() -> list[str]:
    """The golden files that are missing, stale or differ from what the code writes now."""
    want, have = expected(), stored()
    return sorted(path for path in want.keys() | have.keys() if want.get(path) != have.get(path))


def write() -> list[str]:
    """Rewrite the golden files; returns those changed."""
    changed = differences()
    want = expected()
    for path in changed:
        target = GOLDEN_DIR / path
        if path in want:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(want[path], encoding="utf-8")
        else:
            target.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.spark_golden", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    changed = write() if args.write else differences()
    for path in changed:
        print(f"{'wrote' if args.write else 'differs'} tests/fixtures/spark_sql/{path}")
    return 0 if args.write or not changed else 1


if __name__ == "__main__":
    sys.exit(main())
