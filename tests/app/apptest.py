"""Running the app as AppTest does, for every page test: the entry script, the URL's query, a page."""

from __future__ import annotations

from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def run_as_served() -> None:
    """Make AppTest run app.py on every page, as the server does.

    The server runs the entry script on every run once `st.navigation` has been called. AppTest
    looks for a pages/ folder before each run and, finding ours, runs a switched-to page file on its
    own: the entry script's frame (the shared reader of a page run) would go untested.
    """
    if getattr(PagesManager.__init__, "as_served", False):
        return
    init = PagesManager.__init__

    def served(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    served.as_served = True  # type: ignore[attr-defined]
    PagesManager.__init__ = served  # type: ignore[method-assign]


run_as_served()


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
