"""What the checkpoint after a commit costs when the commit appends one raw object, as raw_objects grows.

    .venv/bin/python bench/bench_checkpoint.py bench/out/pages-1000000.duckdb --copies 1 4

For each size, a copy of the database holds the base's raw objects `copies` times; one object is
appended (as a refresh's commit does) and the checkpoint that follows is timed; then the same for
500 facts appended to fct_recipient_events, the reference. DuckDB rewrites the partly filled row
group an append lands in, and the one holding raw bytes is large: this is a fixed cost of every
refresh that stores an object, measured here to see whether it also grows with the bytes kept.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent / "out"


def _checkpoint_after(con: duckdb.DuckDBPyConnection, insert: str) -> float:
    con.execute(insert)
    started = time.perf_counter()
    con.execute("checkpoint")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for copies in args.copies:
        with tempfile.TemporaryDirectory(dir=OUT) as work:
            db = Path(work) / "db.duckdb"
            shutil.copy(args.db, db)
            con = duckdb.connect(str(db))
            con.execute("create temp table base_raw as select * from raw_objects")
            for _ in range(copies - 1):
                con.execute("insert into raw_objects select * from base_raw")
            con.execute("checkpoint")
            raw_mb = con.execute("select sum(octet_length(data)) / 1e6 from raw_objects").fetchall()[0][0]
            raw = _checkpoint_after(con, "insert into raw_objects select * from raw_objects limit 1")
            facts = _checkpoint_after(
                con, "insert into fct_recipient_events select * from fct_recipient_events limit 500")
            con.close()
        print(f"raw_objects {raw_mb:,.0f} MB: checkpoint after one object {raw:.2f} s; "
              f"after 500 facts {facts:.3f} s", flush=True)


if __name__ == "__main__":
    main()
