"""One real-browser run: `streamlit run` on a free port, Debian's chromium driven by Playwright.

Visits every page, fails on any exception element, saves a screenshot per page under
tests/e2e/screenshots/ (not in git), and downloads the portal CSV to check its rows.
Opt-in (marker e2e): skipped unless pytest gets --run-e2e, as .ci/run passes.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).resolve().parent / "screenshots"
EXPORT_COLUMNS = ["learner_name", "email", "portal_id", "user_status", "bounce_type", "reason", "diagnostic",
                  "first_bounce", "last_bounce", "bounce_count", "upload_batch_id", "recommended_action"]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not shutil.which("chromium"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    from pipelines.demo.build import build_demo

    root = tmp_path_factory.mktemp("e2e")
    db = root / "e2e.duckdb"
    build_demo(root / "demo", db, sends=3000, portals=12, days=20, quiet=True)
    port = _free_port()
    env = {**os.environ, "BOUNCEDESK_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("streamlit did not start: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def _settle(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
    page.wait_for_timeout(300)


def test_every_page_renders_without_an_exception(server, page):
    SHOTS.mkdir(exist_ok=True)
    page.goto(server)
    _settle(page)
    links = page.locator("[data-testid='stSidebarNav'] a")
    count = links.count()
    assert count >= 2
    for i in range(count):
        link = page.locator("[data-testid='stSidebarNav'] a").nth(i)
        href = (link.get_attribute("href") or "").split("?")[0].rstrip("/")
        title = href.rsplit("/", 1)[-1] if href.count("/") > 2 else "overview"
        link.click()
        _settle(page)
        assert page.locator("[data-testid='stException']").count() == 0, f"exception on {title}"
        assert page.locator("h1").count() >= 1, f"no title on {title}"
        page.screenshot(path=str(SHOTS / f"{title.lower().replace(' ', '_')}.png"), full_page=True)


def test_portal_csv_download_holds_only_that_portal(server, page):
    page.goto(f"{server}/portal?portal=p004")
    _settle(page)
    if page.locator("[data-testid='stException']").count():
        pytest.fail("the portal page raised")
    buttons = page.get_by_test_id("stDownloadButton").filter(has_text="Export")
    if buttons.count() == 0:
        pytest.skip("no portal page with an Export CSV button yet")
    with page.expect_download() as download:
        buttons.first.locator("button").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == EXPORT_COLUMNS
    assert rows and {r["portal_id"] for r in rows} == {"p004"}


def test_overview_link_opens_the_portal_that_needs_someone(server, page):
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2600})  # the whole Overview in one screenshot
    try:
        page.goto(server)
        _settle(page)
        page.screenshot(path=str(SHOTS / "overview_whole.png"), full_page=True)
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
    links = page.get_by_test_id("stPageLink").locator("a")
    if links.count() == 0:
        pytest.skip("no portal needs someone in this demo")
    label = links.first.inner_text()
    links.first.click()
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert f"portal={label.split(' — ')[0].split()[-1]}" in page.url
    assert page.get_by_role("heading", name="Likely causes").count() == 1
    page.set_viewport_size({"width": 1400, "height": 3400})  # Streamlit scrolls inside its own pane
    try:
        _settle(page)
        page.screenshot(path=str(SHOTS / "portal_from_overview.png"), full_page=True)
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})
