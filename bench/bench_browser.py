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
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = {"Overview": "", "Portal": "portal", "Domains": "domains", "Upload batches": "batches",
         "Address lookup (empty)": "address", "Restore brief": "restore-brief",
         "Pre-send check (empty)": "presend", "Pipeline health": "health"}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(db: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "BOUNCEDESK_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{port}/_stcore/health", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the streamlit server did not start")


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
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    db = Path(args.db).resolve()
    cold_start: list[float] = []
    first_visit: dict[str, list[float]] = {name: [] for name in PAGES}
    reload: dict[str, list[float]] = {name: [] for name in PAGES}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"))
        for _ in range(args.runs):
            for name, path in PAGES.items():
                port = _free_port()
                proc = _server(db, port)
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    start = "presend" if path == "address" else "address"
                    cold_start.append(_visit(page, f"http://127.0.0.1:{port}/{start}"))
                    first_visit[name].append(_click(page, name.removesuffix(" (empty)")))
                    reload[name].append(_visit(page, f"http://127.0.0.1:{port}/{path}"))
                    page.close()
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
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
