"""Page renders in a real browser (Debian's chromium, Playwright), the app running: for each page, the
time until its script is idle, and the app's own cold start (a fresh server's first page) apart.

    .venv/bin/python bench/bench_browser.py --db bench/out/pages-1000000.duckdb --runs 3

Each run starts a fresh server per page (so no page finds another's numbers cached) and opens the
Address lookup page with nothing typed (it reads nothing: the server's start and the imports are paid
there, timed as the cold start; for the Address page itself, the Pre-send page). Then, per page:
- first visit: a click on its sidebar link, as a user moves around the running app (caches cold), until
  its title is shown and its script idle;
- reload: the same page loaded again from its URL (the browser reloads the app's frontend; the page's
  reads are cached by then).
Medians and maxima over the runs, seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = {"Overview": "", "Portal": "portal", "Domains": "domains", "Upload batches": "batches",
         "Address lookup (empty)": "address", "Restore brief": "restore-brief",
         "Pre-send check (empty)": "presend", "Pipeline health": "health"}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _visit(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("[data-testid='stMain']", timeout=120_000)
    # The app's own page list (a fresh server's first page hands over to app.py once: ui.through_the_app).
    nav = page.locator("[data-testid='stSidebarNav'] a")
    nav.filter(has_text="Pipeline health").wait_for(timeout=120_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    return time.perf_counter() - started


def _click(page, title: str) -> float:
    # The first page's hand-over to app.py can rerun it just after it went idle: a click then is lost.
    page.wait_for_timeout(1000)
    started = time.perf_counter()
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=120_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True,
                        help="a database built by `python -m pipelines demo` or bench_pages.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", help=f"comma-separated, of: {', '.join(PAGES)} (default: all)")
    args = parser.parse_args()
    pages = {name: PAGES[name] for name in args.pages.split(",")} if args.pages else PAGES
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO))
    from tests.support.served import streamlit_app

    db = Path(args.db).resolve()
    cold_start: list[float] = []
    first_visit: dict[str, list[float]] = {name: [] for name in pages}
    reload: dict[str, list[float]] = {name: [] for name in pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"))
        for _ in range(args.runs):
            for name, path in pages.items():
                with streamlit_app(db) as url:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = "presend" if path == "address" else "address"
                    cold_start.append(_visit(page, f"{url}/{start}"))
                    first_visit[name].append(_click(page, name.removesuffix(" (empty)")))
                    reload[name].append(_visit(page, f"{url}/{path}"))
                    page.close()
        browser.close()
    print(f"{db.name}, {args.runs} runs, {os.cpu_count()} cores; seconds until the page's script is idle")
    print(f"{'page':28s} {'first visit p50':>15s} {'max':>7s} {'reload p50':>11s} {'max':>7s}")
    for name, times in first_visit.items():
        print(f"{name:28s} {statistics.median(times):15.2f} {max(times):7.2f} "
              f"{statistics.median(reload[name]):11.2f} {max(reload[name]):7.2f}")
    cold = f"{statistics.median(cold_start):15.2f} {max(cold_start):7.2f}"
    print(f"{'app cold start (fresh server)':28s} {cold}")


if __name__ == "__main__":
    main()
