"""The lake export at scale: a whole export of a database, one with nothing new, one after a new hourly
object is loaded (the cron case), in one script.

    .venv/bin/python bench/bench_lake.py bench/out/pages-1000000.duckdb

The database is copied first (the export records itself in the file it exports), then exported to a
fresh folder by `python -m pipelines lake export` as a child process (the scheduler's view: process
start and imports included). The hourly object is `bench_incremental.py`'s, loaded by a refresh between
the second and third export. Reported per export: seconds, peak RSS, and the summary line (rows, bytes
and partitions written), then the lake's size on disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_incremental import hourly_objects  # noqa: E402
from bench.bench_ingest import run_child  # noqa: E402


def export(db: Path, lake: Path) -> tuple[float, int, str]:
    """One `lake export` as a child process: seconds, peak RSS (bytes), its summary line."""
    seconds, rss_mb, out = run_child([sys.executable, "-m", "pipelines", "lake", "export", "--to", str(lake),
                                      "--db", str(db), "-q"])
    return seconds, int(rss_mb * 1024 * 1024), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", type=Path)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()),
                        help="where the copy and the lake go (default: the system's temp folder)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.work, prefix="bench-lake-") as work:
        db, lake = Path(work) / "db.duckdb", Path(work) / "lake"
        shutil.copy(args.database, db)
        for run in ("whole", "nothing new", "one new hourly object"):
            if run == "one new hourly object":
                source = Path(work) / "source"
                source.mkdir()
                shutil.copy(hourly_objects(1)[0], source / "hour.gz")
                subprocess.run([sys.executable, "-m", "pipelines", "refresh", "--source", str(source),
                                "--db", str(db), "-q"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
            seconds, rss, line = export(db, lake)
            print(f"{run}: {seconds:.2f} s, peak RSS {rss / 1e6:,.0f} MB: {line}", flush=True)
        size = sum(p.stat().st_size for p in lake.rglob("*") if p.is_file())
        parquet = sorted(lake.rglob("*.parquet"))
        print(f"lake: {size / 1e6:,.1f} MB in {len(parquet)} Parquet files", flush=True)


if __name__ == "__main__":
    main()
