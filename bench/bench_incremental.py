"""Incremental refresh: one new hourly object into databases of different sizes, in one script.

    .venv/bin/python bench/bench_incremental.py bench/out/pages-1000000.duckdb \
        bench/out/synth-10000000.duckdb

For each database (a copy, so the original is kept), the same new hourly objects are loaded one
refresh at a time (`python -m pipelines refresh` as a child process: the scheduler's view, with
process start and imports included). Reported: seconds, how long the live file was held
(commit_seconds), peak RSS, and each database's median against the first's. The cost should follow
the new data, not the history, so the ratio should stay near 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_ingest import OUT, run_child  # noqa: E402


def hourly_objects(count: int) -> list[Path]:
    """`count` hourly objects of one new day, after every database's history (demo portals p001-p050)."""
    from pipelines.demo.build import write_ses_exports

    folder = OUT / "incremental-objects"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        write_ses_exports(folder, sends=20_000, portals=50, days=1, seed=99,
                          end=datetime(2027, 1, 2, tzinfo=UTC), defects=False)
        (folder / ".complete").write_text("ok")
    hours = sorted(p for p in folder.rglob("*.gz") if "/sns/" not in p.as_posix())
    return hours[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("databases", type=Path, nargs="+")
    parser.add_argument("--objects", type=int, default=5, help="hourly objects, one refresh each")
    args = parser.parse_args()
    objects = hourly_objects(args.objects)
    print(f"{len(objects)} hourly objects, {sum(p.stat().st_size for p in objects) / 1e3:.0f} kB gzip; "
          f"{os.cpu_count()} cores", flush=True)
    medians = {}
    for db in args.databases:
        with tempfile.TemporaryDirectory(dir=OUT) as work:
            copy = Path(work) / "db.duckdb"
            shutil.copy(db, copy)
            source = Path(work) / "source"
            runs = []
            for obj in objects:
                target = source / obj.relative_to(OUT / "incremental-objects")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(obj, target)
                seconds, rss, line = run_child([sys.executable, "-m", "pipelines", "refresh", "-q",
                                                "--db", str(copy), "--source", str(source)])
                summary = dict(kv.split("=", 1) for kv in line.splitlines()[-1].split())
                runs.append((seconds, float(summary["commit_seconds"]), rss, int(summary["facts_new"])))
                print(f"  {db.name} object {len(runs)}: {seconds:.2f} s (live file held "
                      f"{runs[-1][1]:.2f} s), peak RSS {rss:,.0f} MB", flush=True)
        medians[db] = statistics.median(r[0] for r in runs)
        held = statistics.median(r[1] for r in runs)
        print(f"{db.name}: median {medians[db]:.2f} s (live file held {held:.2f} s), "
              f"max {max(r[0] for r in runs):.2f} s, peak RSS {max(r[2] for r in runs):,.0f} MB, "
              f"{statistics.median(r[3] for r in runs):,.0f} facts per object; "
              f"x first database {medians[db] / medians[args.databases[0]]:.2f}", flush=True)


if __name__ == "__main__":
    main()
