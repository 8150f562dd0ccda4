"""Overview, Portal, Domains and Upload batches pages on the hand-built database of conftest's `tiny_db`:
they render, and every figure they show is the one worked out by hand from its sends and bounces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipelines import warehouse
from pipelines.reports import export
from tests.app.apptest import run_page

# Sends, hard bounces per portal over the 30 days (every send of tiny_db is inside them):
#   p1 100 / 4, p1a 100 / 12, p2 10 / 1, p3 100 / 6, p4 20 / 0; p1 with p1a (its sub-portal) 200 / 16.
LABELS = ["p1 — North", "p1a — North Annex", "p2 — South", "p3 — West", "p4 — (not in the directory)"]
P1_HARD = {"n0@north.org", "n1@north.org", "n2@north.org", "n3@north.org"}
P1A_HARD = {"g0@gmial.com", "g1@gmial.com", "g2@gmial.com", "h0@hotmial.com", "c0@annex.org", "c1@annex.org",
            *(f"a{i}@annex.org" for i in range(6))}
P1_SOFT = {f"r{i}@fabrikam.com" for i in range(5)}


@pytest.fixture(scope="module")
def fixture_db(tiny_db) -> Path:
    """Overrides conftest's: the pages read tiny_db."""
    return tiny_db




def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_overview_shows_the_account_rates_statuses_and_alerts():
    at = run_page()
    # Events: 330 sends + 23 hard and 5 soft bounces + 1 complaint = 359.
    assert metric(at, "Recipient events") == "359"
    # Account: 330 sends (100 + 100 + 10 + 100 + 20); 23 hard bounces (4 + 12 + 1 + 6) -> 23 / 330 =
    # 6.97 %, over the 5 % warning, under the 10 % cutoff; 1 complaint -> 1 / 330 = 0.303 %.
    assert metric(at, "Sends") == "330"
    assert metric(at, "Hard-bounce rate") == "6.97%"
    assert metric(at, "Complaint rate") == "0.303%"
    deltas = {m.label: m.proto.delta for m in at.metric}
    assert deltas["Hard-bounce rate"] == "at or over the 5.0% warning level"
    assert deltas["Complaint rate"] == "at or over the 0.1% warning level"
    # The newest event is from 2026-11-20, long before the test runs: the stale-data banner shows.
    assert any("more than 24 hours ago" in w.value for w in at.warning)

    hard_chart, complaint_chart = charts(at)
    assert {"warning 5.0%", "cutoff 10.0%"} <= {a["text"] for a in hard_chart["layout"]["annotations"]}
    assert {"warning 0.1%", "cutoff 0.5%"} <= {a["text"] for a in complaint_chart["layout"]["annotations"]}
    bars, line = hard_chart["data"]
    # Sends by day: 11-18 p1 100 + p2 5; 11-19 p1a 100 + p2 5; 11-20 p3 100 + p4 20.
    assert bars["y"] == [105, 105, 120]
    # Hard bounces by day of sending: 11-18 p1 4 + p2 1; 11-19 p1a 12; 11-20 p3 6.
    assert line["y"] == pytest.approx([5 / 105, 12 / 105, 6 / 120])

    portals, alerts = at.dataframe[0].value, at.dataframe[1].value
    # Worst first: p2 disabled (the directory switched its mail off), p1a exceeded (12 % >= 10 %),
    # p3 approaching (6 % >= 5 %), p1 ok (4 %), p4 not judged (20 sends < 100).
    assert list(portals["portal_id"]) == ["p2", "p1a", "p3", "p1", "p4"]
    assert list(portals["status"]) == ["disabled", "exceeded", "approaching", "ok", "insufficient_volume"]
    assert list(portals["hard_rate"]) == pytest.approx([0.1, 0.12, 0.06, 0.04, 0.0])
    # p1 alone is ok, rolled up with p1a approaching: 16 / 200 = 8 %.
    p1 = portals[portals["portal_id"] == "p1"].iloc[0]
    assert (p1["rollup_sent"], p1["rollup_status"]) == (200, "approaching")
    # p2's sparkline: 11-18 1 of 5 hard = 0.2, 11-19 0 of 5 = 0.0.
    assert list(portals["trend"].iloc[0]) == pytest.approx([0.2, 0.0])
    # The second refresh changed one status: p3 from ok (0 of 100) to approaching (6 of 100), alone and
    # rolled up (p3 has no sub-portals). The first refresh's alerts (p2, p1a, p1's roll-up) are older.
    changes = zip(*(alerts[c] for c in ("portal_id", "scope", "from_status", "to_status")), strict=True)
    assert list(changes) == [("p3", "alone", "ok", "approaching"), ("p3", "rollup", "ok", "approaching")]
    assert list(alerts["hard_rate"]) == pytest.approx([0.06, 0.06])


def test_portal_follows_the_link_and_roll_up_changes_the_figures():
    at = run_page("pages/portal.py", portal="p1", rollup="0")
    picker = at.selectbox(key="portal")
    assert picker.value == "p1" and picker.options == LABELS
    # p1 alone: 95 + 5 sends, 4 hard -> 4.00 %, ok; not at risk, so no forecast.
    assert (metric(at, "Status"), metric(at, "Sends"), metric(at, "Hard bounces")) == ("ok", "100", "4")
    assert metric(at, "Hard-bounce rate") == "4.00%"
    assert not at.text
    daily = charts(at)[0]["data"][0]
    assert daily["y"] == [100]  # all of p1's sends on 11-18

    at.toggle(key="rollup").set_value(True).run()
    assert not at.exception
    # With p1a: 200 sends, 4 + 12 = 16 hard -> 8.00 %, approaching.
    assert (metric(at, "Status"), metric(at, "Sends"), metric(at, "Hard bounces")) == (
        "approaching", "200", "16")
    assert metric(at, "Hard-bounce rate") == "8.00%"
    assert (at.query_params["rollup"], at.query_params["portal"]) == ("1", "p1")
    # One sentence, consistent with the status shown: approaching is over the warning, not the cutoff.
    assert at.text[0].value.startswith("p1 with its sub-portals is over the warning level")
    assert len(at.text) == 1 and "cutoff now" not in at.text[0].value
    assert charts(at)[0]["data"][0]["y"] == [100, 100]  # p1 on 11-18, p1a on 11-19
    _, daily_rate, judged, batches = charts(at)[0]["data"]
    assert daily_rate["y"] == pytest.approx([4 / 100, 12 / 100])  # by day of sending
    # The rolling 30-day rate the policy judges, at the end of each day: 4 / 100 after 11-18, then
    # (4 + 12) / 200 = 8 % from 11-19 on; nothing sent before 11-18 (no rate).
    assert judged["name"] == "Rolling 30d rate (judged)"
    assert judged["x"][-4:] == ["2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]
    assert judged["y"][-4:] == [None, pytest.approx(0.04), pytest.approx(0.08), pytest.approx(0.08)]
    # p1a's upload batches b1 and b2, both first sent on 11-19.
    assert (batches["text"], batches["x"]) == (["b1", "b2"], ["2026-11-19", "2026-11-19"])

    at.selectbox(key="portal").set_value("p1a").run()
    assert not at.exception
    # p1a: 100 sends, 12 hard -> 12.00 % >= the 10 % cutoff.
    assert (metric(at, "Status"), metric(at, "Sends"), metric(at, "Hard-bounce rate")) == (
        "exceeded", "100", "12.00%")
    assert at.query_params["portal"] == "p1a"
    # (still rolled up: p1a has no sub-portals, so the same 12 of 100)
    assert at.text[0].value.startswith("p1a with its sub-portals is over the cutoff now; at its routine pace")
    assert at.text[0].value.count("over the cutoff") == 1  # said once, not repeated
    # The rate against the levels: 12 % >= the 10 % cutoff.
    assert next(m.proto.delta for m in at.metric if m.label == "Hard-bounce rate") == (
        "at or over the 10.0% cutoff")


def test_portal_bounced_list_is_the_export(fixture_db):
    at = run_page("pages/portal.py", portal="p1", rollup="1", kind="hard")
    assert at.radio(key="kind").value == "hard"
    columns = list(export.BOUNCED_COLUMNS)

    def shown():
        return next(df.value for df in at.dataframe if list(df.value.columns) == columns)

    # p1 with p1a, hard: p1's 4 at north.org and p1a's 12 (10 of batch b1, 2 of b2).
    assert set(shown()["email"]) == P1_HARD | P1A_HARD and len(shown()) == 16
    with warehouse.reader(fixture_db) as con:
        expected = export.bounced_addresses(con, ["p1"], with_subportals=True, kind="hard")
    assert list(shown()["email"]) == expected["email"].to_list()  # what the CSV holds, in its order
    assert [b.label for b in at.download_button].count("Export CSV") == 1

    at.radio(key="kind").set_value("soft").run()
    assert set(shown()["email"]) == P1_SOFT  # fabrikam.com refused all 5 (Transient, 5.7.1)
    at.radio(key="kind").set_value("all").run()
    assert len(shown()) == 16 + 5
    assert at.query_params["kind"] == "all"


def test_domains_page_lists_typos_and_refusing_domains():
    at = run_page("pages/domains.py")
    assert at.selectbox(key="scope").value == ""  # the "Whole account" entry
    assert at.selectbox(key="scope").options == ["Whole account", *LABELS]
    ranked, typos, refusing = (df.value for df in at.dataframe)
    # Hard bounces by domain, then rate: annex.org 6 (b1) + 2 (b2) = 8 of 96; north.org 4 of 95 (4.2 %)
    # before west.org 4 of 98 (4.1 %); gmial.com 3 of 3; yaho.com 2 of 2; hotmial.com 1 of 1 (100 %)
    # before south.org 1 of 10; then none: east.org, fabrikam.com (rate 0, by name).
    assert list(ranked["domain"]) == ["annex.org", "north.org", "west.org", "gmial.com", "yaho.com",
                                      "hotmial.com", "south.org", "east.org", "fabrikam.com"]
    assert list(ranked["hard_bounced"]) == [8, 4, 4, 3, 2, 1, 1, 0, 0]
    assert list(ranked["sent"]) == [96, 95, 98, 3, 2, 1, 10, 20, 5]
    assert dict(zip(ranked["domain"], ranked["typo_of"].fillna(""), strict=True))["gmial.com"] == "gmail.com"
    assert dict(zip(typos["domain"], typos["suggestion"], strict=True)) == {
        "gmial.com": "gmail.com", "yaho.com": "yahoo.com", "hotmial.com": "hotmail.com"}
    # fabrikam.com refused 5 of p1's 5 sends to it: >= 5 refusals and >= 20 % of its sends.
    assert list(zip(refusing["domain"], refusing["portal_id"], refusing["refusals"], strict=True)) == [
        ("fabrikam.com", "p1", 5)]
    assert set(refusing["advice"]) == {"ask that organisation's IT to allow-list our sending domain"}

    at = run_page("pages/domains.py", portal="p3")
    assert at.selectbox(key="scope").value == "p3"
    ranked, typos = at.dataframe[0].value, at.dataframe[1].value
    # p3: w0..w97@west.org 98 sends, 4 hard; y0, y1@yaho.com 2 of 2.
    assert list(zip(ranked["domain"], ranked["hard_bounced"], strict=True)) == [
        ("west.org", 4), ("yaho.com", 2)]
    assert list(typos["domain"]) == ["yaho.com"]
    assert "No domain refuses our content" in at.info[0].value
    assert at.query_params["portal"] == "p3"


def test_batches_page_ranks_batches_and_lists_one():
    at = run_page("pages/batches.py", batch="b2")
    assert at.selectbox(key="batch_scope").options == ["All portals", *LABELS]
    ranked = at.dataframe[0].value
    # b1 10 of 50 = 20 %, b3 6 of 100 = 6 %, b2 2 of 50 = 4 %; row_count is batches.csv's `rows`.
    assert list(ranked["batch_id"]) == ["b1", "b3", "b2"]
    assert list(ranked["hard_rate"]) == pytest.approx([0.2, 0.06, 0.04])
    assert list(zip(ranked["row_count"], ranked["sent"], ranked["hard_bounced"], strict=True)) == [
        (60, 50, 10), (100, 100, 6), (50, 50, 2)]
    # The URL's batch is the one listed: b2's two hard bounces, both in p1a.
    assert at.selectbox(key="batch").value == "b2|p1a"
    rows = at.dataframe[1].value
    assert sorted(rows["email"]) == ["c0@annex.org", "c1@annex.org"]
    assert set(rows["upload_batch_id"]) == {"b2"} and set(rows["portal_id"]) == {"p1a"}
    assert [b.label for b in at.download_button].count("Export CSV") == 1

    at = run_page("pages/batches.py", portal="p3")
    assert at.selectbox(key="batch_scope").value == "p3"
    assert list(at.dataframe[0].value["batch_id"]) == ["b3"]
    assert sorted(at.dataframe[1].value["email"]) == ["w0@west.org", "w1@west.org", "w2@west.org",
                                                      "w3@west.org", "y0@yaho.com", "y1@yaho.com"]


# --- answers first, tables for people, click through ----------------------------------------------

def test_overview_opens_with_the_verdict_and_the_portals_that_need_someone():
    at = run_page()
    # The account's 23 / 330 = 6.97 % hard bounces is over SES's 5 % warning, under its 10 % cutoff;
    # complaints 1 / 330 = 0.303 % over the 0.1 % warning, under the 0.5 % cutoff: a warning, first.
    verdict = at.warning[0].value
    assert verdict.startswith("The account is over an SES warning level")
    assert "hard bounces 6.97%, warning 5% / cutoff 10%" in verdict
    assert "complaints 0.303%, warning 0.1% / cutoff 0.5%" in verdict
    assert not at.error
    # Worst first, each a link to its Portal page: p2 disabled, p1a exceeded, p3 approaching, then p1
    # (ok alone, 4 %) because with p1a it is approaching (16 / 200 = 8 %); p4 (20 sends) needs no one.
    links = at.get("page_link")
    assert [link.proto.label for link in links] == [
        "p2 — South: Mail switched off, hard bounces 10.00% (mail switched off in the directory)",
        "p1a — North Annex: Over the cutoff, hard bounces 12.00% (hard-bounce rate 12.0% >= cutoff 10.0%)",
        "p3 — West: Over the warning, hard bounces 6.00% (hard-bounce rate 6.0% >= warning 5.0%)",
        "p1 — North with its sub-portals: Over the warning, hard bounces 8.00% (judged with its sub-portals)",
    ]
    assert {link.proto.page for link in links} == {"portal"}
    assert [link.proto.query_string for link in links] == [
        "portal=p2&rollup=0", "portal=p1a&rollup=0", "portal=p3&rollup=0", "portal=p1&rollup=1"]


def test_tables_show_labels_and_formats_and_fewer_columns_by_default():
    at = run_page()
    portals = at.dataframe[0]
    config = json.loads(portals.proto.columns)
    # Rates as percentages (0.1 shows as 10.00%), counts with thousands separators, human labels.
    assert config["hard_rate"]["label"] == "Hard-bounce rate"
    assert config["hard_rate"]["type_config"]["format"] == "percent"
    assert config["sent"]["type_config"]["format"] == "localized"
    # The status as a coloured label; the raw status stays in the data, hidden on screen.
    pill = config["status__label"]["type_config"]
    assert {o["value"]: (o["label"], o["color"]) for o in pill["options"]}["disabled"] == (
        "Mail switched off", "red")
    assert config["status"]["hidden"] is True
    assert list(portals.value["status__label"].iloc[0]) == ["disabled"]
    assert list(portals.proto.column_order) == ["portal_id", "name", "status__label", "hard_rate", "trend",
                                                "sent", "rollup_status__label", "why"]
    assert portals.proto.placeholder == "—"
    # The rest one click away.
    at.toggle(key="overview-portals-all").set_value(True).run()
    assert not at.exception
    assert list(at.dataframe[0].proto.column_order) == []


def test_the_csv_keeps_machine_names_and_raw_values(fixture_db):
    from pipelines.dashboard import data
    from pipelines.reports.csv_safe import to_safe_csv

    with warehouse.reader(fixture_db) as con:
        portals = data.portals_by_status.__wrapped__(con)
    text = to_safe_csv(portals.drop("trend"))
    text = text.decode() if isinstance(text, bytes) else text
    header, first = text.lstrip("\ufeff").splitlines()[:2]
    assert header.startswith("portal_id,name,status,hard_rate,sent")
    assert first.startswith("p2,South,disabled,0.1,10")


def test_selecting_a_portal_row_opens_its_portal_page():
    at = run_page()
    # Row 1 of the worst-first table is p1a.
    at.session_state["overview-portals"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Portal"
    assert at.selectbox(key="portal").value == "p1a"
    assert metric(at, "Hard-bounce rate") == "12.00%"


def test_portal_page_opens_on_the_worst_portal_and_says_what_happens_next():
    at = run_page("pages/portal.py")
    # metrics.worst_first: p2, whose mail the directory switched off, is worst.
    assert at.selectbox(key="portal").value == "p2"
    assert metric(at, "Status") == "disabled"
    assert [t.value for t in at.text] == [
        "Mail to p2 is switched off in the directory, so nothing more is sent; fix the bounced addresses "
        "below before switching it back on."]


def test_selecting_a_cause_or_an_address_opens_it():
    at = run_page("pages/portal.py", portal="p1a", rollup="0")
    causes = next(df for df in at.dataframe if "cause" in df.value.columns)
    # p1a's first cause is its bad upload batch b1 (10 hard of 50).
    assert (causes.value["cause"].iloc[0], causes.value["subject"].iloc[0]) == ("bad_upload_batch", "b1")
    # On screen the code reads in words; the data (and the CSV) keep the code.
    cause = json.loads(causes.proto.columns)["cause"]
    assert cause["label"] == "Cause"
    assert {"value": "bad_upload_batch", "label": "Bad upload batch"} in cause["type_config"]["options"]
    at.session_state["portal-causes"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Upload batches"
    assert at.selectbox(key="batch").value == "b1|p1a"
    assert (at.query_params["portal"], at.query_params["batch"]) == ("p1a", "b1")

    # Its second, the typo domain gmial.com (3 addresses), lists that domain's addresses.
    at = run_page("pages/portal.py", portal="p1a", rollup="0")
    at.session_state["portal-causes"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Address lookup"
    assert at.text_input(key="lookup_q").value == "@gmial.com"
    assert at.selectbox(key="lookup_pick").options == ["g0@gmial.com", "g1@gmial.com", "g2@gmial.com"]

    at = run_page("pages/portal.py", portal="p1", rollup="0", kind="hard")
    at.session_state["portal-bounced"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Address lookup"
    assert at.selectbox(key="lookup_pick").value == "n0@north.org"


def test_selecting_a_batch_lists_it_and_keeps_the_scope_in_the_url():
    at = run_page("pages/batches.py", portal="p1a")
    assert at.selectbox(key="batch").value == "b1|p1a"  # the worst batch first: b1 20 %, then b2 4 %
    at.session_state["batches-ranked"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.selectbox(key="batch").value == "b2|p1a"
    assert sorted(at.dataframe[1].value["email"]) == ["c0@annex.org", "c1@annex.org"]
    assert (at.query_params["portal"], at.query_params["batch"]) == ("p1a", "b2")


def test_selecting_a_domain_or_a_batch_of_a_portal_opens_it():
    at = run_page("pages/portal.py", portal="p1a", rollup="0")
    # Only the open breakdown tab is read and drawn: By reason first, then the one picked.
    assert not any("gmial.com" in set(df.value.get("key", [])) for df in at.dataframe)
    at.session_state["breakdown"] = "By domain"
    at.run()
    by_domain = next(df.value for df in at.dataframe
                     if "key" in df.value.columns and "gmial.com" in set(df.value["key"]))
    # p1a: annex.org a0..a5 + c0, c1 = 8; gmial.com g0..g2 = 3; hotmial.com h0 = 1.
    assert dict(zip(by_domain["key"], by_domain["hard_bounced"], strict=True)) == {
        "annex.org": 8, "gmial.com": 3, "hotmial.com": 1}
    row = list(by_domain["key"]).index("gmial.com")
    at.session_state["portal-by-domain"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Address lookup" and at.text_input(key="lookup_q").value == "@gmial.com"

    at = run_page("pages/portal.py", portal="p1a", rollup="0")
    at.session_state["breakdown"] = "By upload batch"
    at.run()
    at.session_state["portal-by-batch"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Upload batches" and at.selectbox(key="batch").value == "b1|p1a"
