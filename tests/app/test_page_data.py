"""One path from page to number: `@page_data` (a page calls a plainly named function, cached until the
next refresh, a busy or missing database shown as a message) and the one portal picker of every page."""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.dashboard import data
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import brief, metrics
from tests import sesdata as ses
from tests.app.apptest import run_page

REPO = Path(__file__).resolve().parents[2]
T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"
LABELS = ["p1 — North", "p1a — North Annex", "p2 — South", "p3 — West", "p4 — (not in the directory)"]
PICKERS = {  # page -> the key of its portal picker
    "pages/portal.py": "portal",
    "pages/domains.py": "scope",
    "pages/batches.py": "batch_scope",
    "pages/restore_brief.py": "brief_portal",
    "pages/presend.py": "presend_portal",
}


@pytest.fixture(scope="module")
def fixture_db(tiny_db) -> Path:
    """Overrides conftest's: the pages read tiny_db (five portals, p1 to p4)."""
    return tiny_db




# --- the portal picker --------------------------------------------------------------------------

@pytest.mark.parametrize("page", PICKERS)
def test_every_page_picks_a_portal_with_the_same_picker_and_follows_the_link(page):
    at = run_page(page, portal="p3")
    picker = at.selectbox(key=PICKERS[page])
    assert picker.value == "p3"
    # The same "id — name" labels everywhere; Domains and Upload batches add an entry for every portal.
    assert picker.options in (LABELS, ["Whole account", *LABELS], ["All portals", *LABELS])
    assert at.query_params["portal"] == "p3"

    picker.set_value("p1a").run()
    assert not at.exception
    assert at.query_params["portal"] == "p1a"


def test_each_page_keeps_its_own_first_pick(fixture_db):
    with warehouse.reader(fixture_db) as con:
        worst = brief.worst_portal(metrics.status_table(con))
    assert worst != "p1"  # the brief's default is not merely the first entry
    # The Portal page opens on the portal that most needs attention (metrics.worst_first: p2 disabled).
    first_pick = {"pages/portal.py": "p2", "pages/domains.py": "", "pages/batches.py": "",
                  "pages/restore_brief.py": worst, "pages/presend.py": "p1"}
    for page, key in PICKERS.items():
        at = run_page(page, portal="p9' or '1'='1")  # names no portal: ignored
        assert at.selectbox(key=key).value == first_pick[page], page


def test_picking_the_whole_account_drops_the_portal_from_the_link():
    at = run_page("pages/domains.py", portal="p3")
    at.selectbox(key="scope").set_value("").run()
    assert not at.exception
    assert "portal" not in at.query_params
    assert at.selectbox(key="scope").value == ""


# --- @page_data ---------------------------------------------------------------------------------

def test_a_page_calls_page_data_without_a_connection():
    assert list(inspect.signature(data.portal_summary).parameters) == ["portal_id", "rollup", "window_days"]
    assert data.portal_summary.__name__ == "portal_summary"
    assert data.portal_summary.__module__ == "pipelines.dashboard.data"
    # Every public function of `data` that takes a connection is a page call, cached by @page_data.
    takes_con = [name for name, fn in vars(data).items()
                 if inspect.isfunction(fn) and not name.startswith("_") and fn.__module__ == data.__name__
                 and list(inspect.signature(inspect.unwrap(fn)).parameters)[:1] == ["con"]]
    assert takes_con and all(hasattr(getattr(data, name), "__wrapped__") for name in takes_con)
    assert "con" not in {p for name in takes_con for p in inspect.signature(getattr(data, name)).parameters}


@pytest.fixture
def counted_readers(monkeypatch) -> list[Path]:
    """Every reader the page data opens, in order."""
    opened: list[Path] = []
    real = warehouse.reader

    @contextmanager
    def counting(path, *args, **kwargs):
        opened.append(path)
        with real(path, *args, **kwargs) as con:
            yield con

    monkeypatch.setattr(warehouse, "reader", counting)
    return opened


def test_one_cache_entry_per_call_until_a_refresh_commits(tmp_path, monkeypatch, counted_readers):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@x.org", T0)])
    refresh(db, [LocalSource(src)], quiet=True)
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))

    assert data.freshness()["events"] == 1
    assert data.freshness()["events"] == 1
    assert len(counted_readers) == 1  # the second call was served from the cache
    # Positional, keyword and defaulted arguments are one call.
    first = data.breakdown("reason")
    assert data.breakdown(dimension="reason", portal_id=None, rollup=False, window_days=30).equals(first)
    assert len(counted_readers) == 2

    ses.write_object(src, "2", [ses.bounce("m1", "a@x.org", T0, T1)])
    refresh(db, [LocalSource(src)], quiet=True)
    before = len(counted_readers)  # the refresh opens readers of its own
    assert data.freshness()["events"] == 2  # a new version of the file: read again
    assert len(counted_readers) == before + 1


def test_a_refresh_shows_on_the_next_rerun_without_a_restart(tmp_path, monkeypatch):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@x.org", T0)])
    refresh(db, [LocalSource(src)], quiet=True)
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))
    at = run_page()
    assert at.metric[0].label == "Recipient events" and at.metric[0].value == "1"

    ses.write_object(src, "2", [ses.send("m2", "b@x.org", T0), ses.bounce("m2", "b@x.org", T0, T1)])
    refresh(db, [LocalSource(src)], quiet=True)
    at.run()
    assert not at.exception
    assert at.metric[0].value == "3"


@pytest.mark.parametrize(("error", "shown"), [
    (warehouse.DatabaseBusy("held"), "A refresh is committing new data right now"),
    (warehouse.DatabaseMissing("gone"), "No database yet: run `python -m pipelines demo`"),
    (warehouse.DatabaseOutdated("built by an older bouncedesk: refresh"), "built by an older bouncedesk"),
])
def test_a_busy_missing_or_outdated_database_is_a_message_not_a_traceback(monkeypatch, error, shown):
    def refuse(path, *args, **kwargs):
        raise error

    monkeypatch.setattr(warehouse, "reader", refuse)
    for page in ("pages/overview.py", "pages/portal.py", "pages/pipeline_health.py"):
        at = run_page(page)
        messages = [m.value for m in [*at.warning, *at.info]]
        assert any(shown in m for m in messages), (page, messages)
        assert not at.dataframe and not at.metric, page  # the page stopped at its first read


def test_no_page_names_a_read_or_a_function_by_string():
    for path in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py")),
                 *sorted((REPO / "pipelines" / "dashboard").glob("*.py"))]:
        text = path.read_text()
        assert "importlib" not in text and "ui.read(" not in text and "ui.call(" not in text, path


def test_a_page_run_opens_the_file_once_however_many_numbers_it_shows(counted_readers):
    # The Overview (app.py's first run) and then the Portal page: a dozen page calls between them,
    # each a cache miss, but one reader per run; the rerun is served from the cache and opens none.
    at = run_page("pages/portal.py", portal="p2")
    assert at.selectbox(key="portal").value == "p2"
    assert len(counted_readers) == 2
    at.run()
    assert not at.exception
    assert len(counted_readers) == 2


def test_a_page_call_outside_a_page_run_opens_its_own_reader(counted_readers):
    data.freshness()
    data.breakdown("reason")
    assert len(counted_readers) == 2


def test_a_refresh_committing_mid_run_moves_the_rest_of_the_run_to_the_new_file(fixture_db, counted_readers):
    from pipelines.dashboard.cache import _SharedReader

    shared = _SharedReader()
    first = shared.get(str(fixture_db), (1, 1))
    assert shared.get(str(fixture_db), (1, 1)) is first
    assert len(counted_readers) == 1
    shared.get(str(fixture_db), (2, 1))  # the version the next page call sees after a commit
    assert len(counted_readers) == 2
    shared.close()


def test_a_file_from_an_older_release_says_run_a_refresh_instead_of_a_traceback(tmp_path, monkeypatch):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@x.org", T0)])
    refresh(db, [LocalSource(src)], quiet=True)
    with warehouse.writer(db) as con:  # as a release before alert delivery left it
        con.execute("drop table _alert_deliveries")
        con.execute("update _view_definitions set definition_hash = 'older'")
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))
    from streamlit.testing.v1 import AppTest

    from tests.app.apptest import APP

    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("written by an older bouncedesk" in w.value and "pipelines refresh" in w.value
               for w in at.warning)
    # One refresh brings the file up to date: the page renders whole.
    refresh(db, [LocalSource(src)], quiet=True)
    at.run()
    assert not at.exception and not any("older bouncedesk" in w.value for w in at.warning)
