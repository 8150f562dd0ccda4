"""Where alerts went, as the app shows it: each new alert's delivery state on the Overview, each
channel's health on Pipeline health (never its URL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines import notify
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports.policy import load_policy
from tests import sesdata as ses
from tests.app.apptest import run_page
from tests.sql.test_rates_status import POLICY, write_directory
from tests.support.webhook import TOKEN

IN, LATER = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"


@pytest.fixture
def fixture_db(tmp_path, receiver) -> Path:
    """Overrides conftest's: p2 goes ok -> approaching (1 hard bounce of 20 sends = 5 %, POLICY's
    warning); channel "ops" (the receiver) takes it, "down" (nothing listens on port 9) fails once."""
    src, db, policy_file = tmp_path / "ses", tmp_path / "d.duckdb", tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    policy = load_policy(policy_file)
    alerts = notify.parse_alerts({"channels": [
        {"name": "ops", "kind": "webhook", "url": receiver.url},
        {"name": "down", "kind": "webhook", "url": f"http://127.0.0.1:9/{TOKEN}", "timeout_seconds": 1},
    ]})
    ses.write_object(src, "1", [ses.send(f"m{i}", f"d{i}@z.example", IN, portal="p2") for i in range(20)])
    summary = refresh(db, [LocalSource(src)], write_directory(tmp_path / "dir"), quiet=True, policy=policy)
    notify.deliver(db, alerts, policy=policy, since_load_id=summary.load_id)
    ses.write_object(src, "2", [ses.bounce("m0", "d0@z.example", IN, LATER, portal="p2")])
    refresh(db, [LocalSource(src)], quiet=True, policy=policy)
    notify.deliver(db, alerts, policy=policy)
    return db


def test_the_overview_says_where_each_new_alert_went():
    at = run_page()
    alerts = next(df.value for df in at.dataframe if "delivery" in df.value.columns)
    by_scope = dict(zip(alerts["scope"], alerts["delivery"], strict=True))
    # The channels take scope "alone" (their default): the roll-up's alert went nowhere.
    assert by_scope["alone"] == "down: retrying (1 failed), ops: delivered"
    assert pd.isna(by_scope["rollup"])


def test_pipeline_health_shows_each_channel_with_its_failures_and_the_test_command():
    at = run_page("pages/pipeline_health.py")
    channels = next(df.value for df in at.dataframe if "channel" in df.value.columns)
    rows = {r["channel"]: r for r in channels.to_dict("records")}
    counts = {name: (r["delivered"], r["retrying"], r["failing_last_day"]) for name, r in rows.items()}
    assert counts == {"ops": (1, 0, 0), "down": (0, 1, 1)}
    assert rows["down"]["last_error"] == "unreachable: ConnectionRefusedError"
    assert any("alerts test --config" in c.value for c in at.code)
    shown = " ".join(str(v) for r in rows.values() for v in r.values())
    assert TOKEN not in shown and "127.0.0.1" not in shown
