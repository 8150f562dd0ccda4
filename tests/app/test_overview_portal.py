"""Overview, Portal, Domains and Upload batches pages on a small demo database: they render, and the
figures they show are the reads' figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import warehouse
from pipelines.demo import build as demo
from pipelines.reports import export, metrics
from pipelines.warehouse import reads

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
END = datetime(2026, 11, 24, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    """Overrides conftest's: 3,000 demo sends with portals, sub-portals, batches and alerts."""
    root = tmp_path_factory.mktemp("demoapp")
    db = root / "demo.duckdb"
    demo.build_demo(root / "out", db, quiet=True, sends=3000, portals=12, days=20, seed=7, end=END)
    return db


def run_page(page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_overview_shows_the_account_rates_statuses_and_alerts(fixture_db):
    at = run_page()
    with warehouse.reader(fixture_db) as con:
        account = metrics.rates(con, "account").row(0, named=True)
        status = metrics.status_table(con)
    assert metric(at, "Hard-bounce rate") == f"{account['hard_rate']:.2%}"
    assert metric(at, "Complaint rate") == f"{account['complaint_rate']:.3%}"
    assert metric(at, "Sends") == f"{account['sent']:,}"
    # The demo ends on END, long before the test runs: the stale-data banner shows.
    assert any("more than 24 hours ago" in w.value for w in at.warning)

    figs = charts(at)
    assert len(figs) == 2
    notes = {a["text"] for a in figs[0]["layout"]["annotations"]}
    assert {"warning 5.0%", "cutoff 10.0%"} <= notes
    assert sum(figs[0]["data"][0]["y"]) == account["sent"]  # the bars are the window's sends

    portals, alerts = at.dataframe[0].value, at.dataframe[1].value
    assert sorted(portals["portal_id"]) == sorted(status["portal_id"])
    order = {"disabled": 0, "exceeded": 1, "approaching": 2}
    ranks = [order.get(s, 3) for s in portals["status"]]
    assert ranks == sorted(ranks) and portals["status"].iloc[0] == "disabled"
    # The sparkline of the worst portal is its daily hard-bounce rates, oldest first.
    with warehouse.reader(fixture_db) as con:
        trends = reads.run(con, "app_portal_trends", as_of=metrics.default_as_of(con), window_days=30)
    worst = portals["portal_id"].iloc[0]
    assert list(portals["trend"].iloc[0]) == trends.filter(portal_id=worst)["trend"].to_list()[0]
    recent = reads.read(fixture_db, "app_recent_alerts")
    assert len(alerts) == recent.height > 0
    assert set(alerts["portal_id"]) == set(recent["portal_id"])


def test_portal_follows_the_link_and_roll_up_changes_the_figures(fixture_db):
    with warehouse.reader(fixture_db) as con:
        row = metrics.status_table(con).filter(portal_id="p010").row(0, named=True)
    assert row["rollup_sent"] != row["sent"]  # p010 has sub-portals

    at = run_page("pages/portal.py", portal="p010", rollup="0")
    assert at.selectbox(key="portal").value == "p010"
    assert metric(at, "Sends") == f"{row['sent']:,}"
    alone_rate = metric(at, "Hard-bounce rate")
    assert alone_rate == f"{row['hard_rate']:.2%}"

    at.toggle(key="rollup").set_value(True).run()
    assert not at.exception
    assert metric(at, "Sends") == f"{row['rollup_sent']:,}"
    assert metric(at, "Hard-bounce rate") == f"{row['rollup_hard_rate']:.2%}" != alone_rate
    assert (at.query_params["rollup"], at.query_params["portal"]) == ("1", "p010")

    at.selectbox(key="portal").set_value("p011").run()
    assert not at.exception
    assert metric(at, "Status") == "approaching"
    assert any(t.value.startswith("p011 with its sub-portals is approaching") for t in at.text)


def test_portal_bounced_list_is_the_export(fixture_db):
    at = run_page("pages/portal.py", portal="p011", rollup="1", kind="hard")
    assert at.radio(key="kind").value == "hard"
    with warehouse.reader(fixture_db) as con:
        expected = export.bounced_addresses(con, ["p011"], with_subportals=True, kind="hard")
    assert expected.columns == list(export.BOUNCED_COLUMNS) and len(expected.columns) == 12
    shown = next(df.value for df in at.dataframe if list(df.value.columns) == expected.columns)
    assert list(shown["email"]) == expected["email"].to_list()
    buttons = [b for b in at.get("download_button") if b.proto.label == "Export CSV"]
    assert len(buttons) == 1

    at.radio(key="kind").set_value("all").run()
    with warehouse.reader(fixture_db) as con:
        everything = export.bounced_addresses(con, ["p011"], with_subportals=True, kind="all")
    shown = next(df.value for df in at.dataframe if list(df.value.columns) == everything.columns)
    assert len(shown) == everything.height > expected.height


def test_domains_page_lists_typos_and_refusing_domains(fixture_db):
    at = run_page("pages/domains.py")
    ranked, typos, refusing = (df.value for df in at.dataframe)
    assert ranked["hard_bounced"].is_monotonic_decreasing
    assert set(typos["domain"]) == {"gmail.con", "gmial.com", "hotmial.com", "yaho.com"}
    assert set(refusing["domain"]) == {"contoso-corp.com"}
    assert set(refusing["advice"]) == {"ask that organisation's IT to allow-list our sending domain"}

    at = run_page("pages/domains.py", portal="p004")
    typos = at.dataframe[1].value
    assert set(typos["domain"]) == {"hotmial.com", "yaho.com"}
    assert "No domain refuses our content" in at.info[0].value


def test_batches_page_ranks_batches_and_lists_one(fixture_db):
    at = run_page("pages/batches.py", batch="b0027")
    ranked = at.dataframe[0].value
    assert list(ranked["hard_rate"]) == sorted(ranked["hard_rate"], reverse=True)
    b0027 = ranked[ranked["batch_id"] == "b0027"].iloc[0]
    assert (b0027["row_count"], b0027["hard_bounced"]) == (147, 52)
    rows = at.dataframe[1].value
    assert set(rows["upload_batch_id"]) == {"b0027"} and set(rows["portal_id"]) == {"p004"}
    assert [b.proto.label for b in at.get("download_button")].count("Export CSV") == 1
