"""Page render benchmark: every page of the app, cold (caches cleared) and warm, on a demo database.

    .venv/bin/python bench/bench_pages.py              # builds a 100 k-send demo under bench/out/
    .venv/bin/python bench/bench_pages.py --runs 20

A cold render runs every query behind the page (Streamlit's caches cleared first); a warm render
is what a second visitor sees. p50/p95 over the runs. Ratios are against the Pipeline health page
(the simplest page: a few small tables) measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sends", type=int, default=100_000)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.app.apptest import run_as_served

    run_as_served()  # every page through app.py, as the server runs it

    from pipelines.demo.build import build_demo

    db = OUT / f"pages-{args.sends}.duckdb"
    if not db.exists():
        build_demo(OUT / f"pages-demo-{args.sends}", db, sends=args.sends, quiet=True)
    os.environ["BOUNCEDESK_DB"] = str(db)
    pages = sorted(str(p.relative_to(REPO)) for p in (REPO / "pages").glob("*.py") if p.name != "__init__.py")
    results = {}
    for page in pages:
        cold, warm = [], []
        for _ in range(args.runs):
            st.cache_data.clear()
            st.cache_resource.clear()
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
            # The first run rendered the default page: empty the caches again so every page is cold.
            st.cache_data.clear()
            started = time.perf_counter()
            at.switch_page(page).run()
            cold.append(time.perf_counter() - started)
            assert not at.exception, (page, at.exception)
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        results[page] = (cold, warm)

    def p95(xs):
        return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]

    base = statistics.median(results.get("pages/pipeline_health.py", next(iter(results.values())))[0])
    print(f"{args.sends:,}-send demo, {args.runs} runs, {os.cpu_count()} cores")
    print(f"{'page':32} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'x health':>9}")
    for page, (cold, warm) in results.items():
        print(f"{page:32} {statistics.median(cold):9.3f} {p95(cold):9.3f} {statistics.median(warm):9.3f} "
              f"{statistics.median(cold) / base:9.2f}")


if __name__ == "__main__":
    main()
