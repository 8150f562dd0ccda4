"""`status` on Spark against DuckDB on the same data, and `lake marts`, at one or more sizes.

    .venv/bin/python bench/bench_spark.py bench/out/pages-1000000.duckdb bench/out/synth-10000000.duckdb

For each database: its lake is exported (once: kept in `<db>.lake/` and brought up to date by
`lake export`), then each command runs as a child process, the scheduler's view (process start, JVM
start and imports included): `status --json` on DuckDB, `status --json --engine spark` on the lake
(local[2]), and `lake marts` (optional, `--marts`). The two status outputs must be identical; the
script stops if they are not. Reported: seconds and peak RSS of each (a JVM's memory is its own
process: peak RSS here is the Python side only), and the Spark / DuckDB ratio; with two sizes, how
each grows from the first to the last.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_ingest import run_child  # noqa: E402


def run(*args: str) -> tuple[float, int, str]:
    """`python -m pipelines ARGS` as a child: seconds, peak RSS (bytes), stdout."""
    seconds, rss_mb, out = run_child([sys.executable, "-m", "pipelines", *args])
    return seconds, int(rss_mb * 1024 * 1024), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", type=Path, nargs="+")
    parser.add_argument("--marts", action="store_true", help="also time `lake marts` into <db>.marts.duckdb")
    args = parser.parse_args()
    rows = []
    for db in args.databases:
        lake = db.with_name(db.name + ".lake")
        export_s, _, line = run("lake", "export", "--to", str(lake), "--db", str(db), "-q")
        print(f"{db.name}: lake export {export_s:.1f} s: {line.strip()}", flush=True)
        duck_s, duck_rss, duck = run("status", "--json", "--db", str(db))
        spark_s, spark_rss, on_spark = run("status", "--json", "--engine", "spark", "--lake", str(lake))
        if json.loads(duck) != json.loads(on_spark):
            raise SystemExit(f"{db.name}: status differs between the engines")
        row = {"db": db.name, "duckdb": duck_s, "spark": spark_s, "portals": len(json.loads(duck))}
        print(f"{db.name}: status DuckDB {duck_s:.2f} s ({duck_rss / 2**20:,.0f} MB), Spark {spark_s:.1f} s "
              f"({spark_rss / 2**20:,.0f} MB Python side), x{spark_s / duck_s:.0f}, identical JSON "
              f"({row['portals']} rows)", flush=True)
        if args.marts:
            target = db.with_name(db.name + ".marts.duckdb")
            row["marts"], _, line = run("lake", "marts", "--lake", str(lake), "--to", str(target), "-q")
            print(f"{db.name}: lake marts {row['marts']:.1f} s: {line.strip()}", flush=True)
        rows.append(row)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = ", ".join(f"{k} x{last[k] / first[k]:.2f}"
                           for k in ("duckdb", "spark", "marts") if k in first)
        print(f"{first['db']} -> {last['db']}: {growth}")


if __name__ == "__main__":
    main()
