"""Every page renders against a small database built by the real loader, and shows the views' figures."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pipelines.warehouse import reads
from tests.app.apptest import run_page

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")




def test_overview_shows_the_loaded_event_count(fixture_db):
    at = run_page()
    events = reads.read(fixture_db, "freshness")["events"][0]
    assert at.metric[0].label == "Recipient events"
    assert at.metric[0].value == f"{events:,}"
    shown = at.dataframe[0].value
    assert dict(zip(shown["event_type"], shown["events"], strict=True)) == dict(
        reads.read(fixture_db, "event_counts").select("event_type", "events").iter_rows()
    )


def test_pipeline_health_lists_runs_and_quarantine(fixture_db):
    at = run_page("pages/pipeline_health.py")
    runs, quarantine = at.dataframe[0].value, at.dataframe[1].value
    assert list(runs["load_id"]) == [1]
    # tests/fixtures/ses holds 3 files that are not whole SES records (2 fragments, 1 non-SES SNS message).
    assert len(quarantine) == 3
    assert {"SNS Message is not JSON"} <= set(quarantine["reason"])
    assert len(at.get("download_button")) == 3
    # The fixtures hold no SNS control message: the section says nothing was set aside.
    assert any("nothing was set aside" in i.value for i in at.info)


def test_missing_database_gives_the_command_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("BOUNCEDESK_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "python -m pipelines refresh" in at.info[0].value


def test_pages_hold_no_sql_and_no_duckdb():
    for page in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        text = page.read_text()
        assert "duckdb" not in text, page
        assert not re.search(r"\b(select|insert|update|delete)\b.+\bfrom\b", text, re.I), page
