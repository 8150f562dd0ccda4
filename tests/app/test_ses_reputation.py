"""The Overview shows SES's own figures (recorded from CloudWatch by the loader) beside ours, or how to
get them; on copies of conftest's `tiny_db`, whose account rates are worked out there by hand."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import warehouse
from pipelines.ingest.reputation import ReputationRow, record_reputation
from tests.app.apptest import run_page

MEASURED = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
FETCHED = datetime(2026, 11, 20, 11, 7, tzinfo=UTC)


@pytest.fixture
def copy_of_tiny(tiny_db, tmp_path, monkeypatch) -> Path:
    db = tmp_path / "tiny.duckdb"
    shutil.copy(tiny_db, db)
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))
    return db


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.proto.delta) for m in at.metric}


def test_ses_figures_show_as_percents_beside_ours_with_when_they_were_measured(copy_of_tiny):
    record_reputation(copy_of_tiny, [
        ReputationRow("Reputation.BounceRate", 0.0225, MEASURED, "eu-west-1"),
        ReputationRow("Reputation.ComplaintRate", 0.0004, MEASURED, "eu-west-1"),
    ], FETCHED)
    at = run_page()
    shown = metrics(at)
    # Ours (tiny_db): 23 hard bounces of 330 sends = 6.97 %, 1 complaint = 0.303 %. SES's: 0.0225 is
    # 2.25 %, 0.0004 is 0.040 % (shown to as many places as ours).
    assert shown["Hard-bounce rate"][0] == "6.97%"
    assert shown["SES's bounce rate"] == ("2.25%", "measured 2026-11-20 11:00 UTC")
    assert shown["SES's complaint rate"] == ("0.040%", "measured 2026-11-20 11:00 UTC")
    labels = [m.label for m in at.metric]
    assert labels[labels.index("Sends") + 1:][:2] == ["SES's bounce rate", "SES's complaint rate"]
    [why] = [c.value for c in at.caption if c.value.startswith("Why they differ")]
    assert "representative volume" in why and "eu-west-1" in why and "verified addresses" in why
    assert "\n" not in why
    assert not any("--ses-reputation" in c.value for c in at.caption)


def test_the_latest_fetch_is_the_one_shown(copy_of_tiny):
    earlier = datetime(2026, 11, 19, 11, 0, tzinfo=UTC)
    record_reputation(copy_of_tiny, [ReputationRow("Reputation.BounceRate", 0.08, earlier, "eu-west-1")],
                      earlier)
    record_reputation(copy_of_tiny, [ReputationRow("Reputation.BounceRate", 0.0225, MEASURED, "eu-west-1")],
                      FETCHED)
    shown = metrics(run_page())
    assert shown["SES's bounce rate"] == ("2.25%", "measured 2026-11-20 11:00 UTC")
    # No complaint-rate datapoint was ever fetched: a dash, not a zero.
    assert shown["SES's complaint rate"] == ("—", "no datapoint fetched")


def test_nothing_fetched_shows_how_to_enable_it_not_an_error(copy_of_tiny):
    at = run_page()
    assert not any(label.startswith("SES's") for label in metrics(at))
    assert any("--ses-reputation" in c.value and "ses_reputation = true" in c.value for c in at.caption)
    assert not at.error
    assert metrics(at)["Hard-bounce rate"][0] == "6.97%"  # ours as ever


def test_a_database_from_before_the_table_shows_the_hint(copy_of_tiny):
    with warehouse.writer(copy_of_tiny) as con:
        con.execute("drop table _ses_reputation")
    at = run_page()
    assert any("--ses-reputation" in c.value for c in at.caption)
