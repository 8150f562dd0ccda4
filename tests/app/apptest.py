"""Running the app as AppTest does, for every page test: the entry script, the URL's query, a page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run_page(page: str | None = None, **query: str) -> AppTest:
    """The app run once with `query` as its URL parameters, then switched to `page` (a path under
    pages/, or None for the default page); fails on any exception the page raised."""
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
