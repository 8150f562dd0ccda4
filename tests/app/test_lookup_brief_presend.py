"""Address lookup, restore brief and pre-send check: pages on the fixture DB, logic on tiny DBs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import brief, presend
from pipelines.warehouse import reads
from tests import sesdata as ses
from tests.app.apptest import run_page

T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"
SCRIPT = "smtp; 550 5.1.1 <script>alert(1)</script> user unknown"


@pytest.fixture(scope="module")
def portal_db(tmp_path_factory) -> Path:
    """Portal p1, batch b1: 10 sends, 7 delivered, 3 hard bounces (one diagnostic holds a <script>, one
    to the typo domain gmial.com); portal p2: 1 delivered send."""
    folder = tmp_path_factory.mktemp("portal_src")
    to = [f"u{i}@acme.org" for i in range(7)] + ["dead@acme.org", "evil@acme.org", "bob@gmial.com"]
    ses.write_object(folder, "2026/11/20/10/s", [
        *[ses.send(f"m{i}", a, T0, batch="b1") for i, a in enumerate(to)],
        ses.send("q1", "carol@ok.org", T0, portal="p2"),
    ])
    ses.write_object(folder, "2026/11/20/10/e", [
        *[ses.delivery(f"m{i}", to[i], T0, T1) for i in range(7)],
        ses.bounce("m7", "dead@acme.org", T0, T1),
        ses.bounce("m8", "evil@acme.org", T0, T1, diagnostic=SCRIPT),
        ses.bounce("m9", "bob@gmial.com", T0, T1),
        ses.delivery("q1", "carol@ok.org", T0, T1, portal="p2"),
    ])
    db = tmp_path_factory.mktemp("portal_db") / "p.duckdb"
    refresh(db, [LocalSource(folder)], quiet=True)
    return db




# --- address lookup -----------------------------------------------------------------------------

def test_lookup_of_a_fixture_address_shows_its_history_and_verdict(fixture_db):
    at = run_page("pages/address.py")
    at.text_input(key="lookup_q").input("jane@").run()
    assert not at.exception
    assert at.selectbox(key="lookup_pick").value == "jane@example.com"
    assert "hard-bounced" in at.text[0].value and "jane@example.com" in at.text[0].value
    portals, events = at.dataframe[0].value, at.dataframe[1].value
    with warehouse.reader(fixture_db) as con:
        facts = con.execute("select count(*), sum(bounces), any_value(recommended_action) "
                            "from mart_address_facts where recipient = 'jane@example.com'").fetchone()
        n_events = con.execute("select count(*) from fct_recipient_events "
                               "where recipient = 'jane@example.com'").fetchone()[0]
    assert len(portals) == facts[0] and portals["bounces"].sum() == facts[1]
    assert list(portals["recommended_action"]) == [facts[2]]
    assert len(events) == n_events == 3
    assert sorted(events["event_type"]) == ["Bounce", "Bounce", "Delivery"]
    assert list(events["at"]) == sorted(events["at"])


@pytest.mark.parametrize("q", ["x' or 1=1 --", "%'; drop table fct_recipient_events; --", "%", "_", "\\"])
def test_hostile_search_text_matches_nothing_and_breaks_nothing(fixture_db, q):
    before = reads.read(fixture_db, "freshness")["events"][0]
    at = run_page("pages/address.py")
    at.text_input(key="lookup_q").input(q).run()
    assert not at.exception
    assert not at.dataframe and not at.selectbox
    assert "No address containing" in at.info[0].value
    assert reads.read(fixture_db, "freshness")["events"][0] == before
    assert reads.read(fixture_db, "lookup_addresses", q=q).is_empty()


def test_lookup_part_of_an_address_lists_matches_only_containing_it(fixture_db):
    found = reads.read(fixture_db, "lookup_addresses", q="EXAMPLE.com")["address"].to_list()
    assert found and all("example.com" in a for a in found)


# --- restore brief ------------------------------------------------------------------------------

def test_brief_documents_name_the_portal_and_escape_untrusted_text(portal_db):
    with warehouse.reader(portal_db) as con:
        b = brief.restore_brief(con, "p1")
    # p1: 10 sent, 3 hard bounces (dead, evil, bob) -> 30 % hard rate.
    assert b.status["sent"] == 10 and b.status["hard_bounced"] == 3
    assert sorted(b.addresses["email"]) == ["bob@gmial.com", "dead@acme.org", "evil@acme.org"]
    assert b.cause_counts.get("typo_domain") == 1
    assert any("typo" in s for s in b.prevention)
    md, page = brief.to_markdown(b), brief.to_html(b)
    for doc in (md, page):
        assert "p1" in doc
        assert "<script>" not in doc
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "@media print" in page and "<style>" in page
    assert "bob@gmail.com" in md  # the typo fix


def test_worst_portal_is_the_default_of_the_brief_page(portal_db, monkeypatch):
    monkeypatch.setenv("BOUNCEDESK_DB", str(portal_db))
    at = run_page("pages/restore_brief.py")
    assert at.selectbox(key="brief_portal").value == "p1"
    labels = [d.label for d in at.download_button]
    assert "Download brief (Markdown)" in labels and "Download brief (printable HTML)" in labels
    assert not any("<script>" in str(t.value) for t in at.markdown)


def test_brief_page_without_portals_says_so(fixture_db):
    at = run_page("pages/restore_brief.py")
    assert "No portal" in at.info[0].value


# --- pre-send -----------------------------------------------------------------------------------

def test_presend_flags_each_kind(portal_db):
    lines = [
        "dead@acme.org",      # 1 known hard bounce (bounced in p1)
        "DEAD@acme.org ",     # 2 duplicate of 1 (+ known hard bounce)
        "not-an-address",     # 3 invalid syntax
        "ann@gmial.com",      # 4 typo of gmail.com (a domain seen in the account)
        "zed@hotmial.com",    # 5 typo of hotmail.com (a domain never loaded: same rule)
        "x@example.com",      # 6 placeholder domain
        "test1@acme.org",     # 7 placeholder local part
        "info@acme.org",      # 8 role account
        "u1@acme.org",        # 9 clean (delivered before)
    ]
    with warehouse.reader(portal_db) as con:
        r = presend.check(con, "p1", lines)
    flags = dict(zip(r.addresses["row"], r.addresses["flags"], strict=True))
    assert flags == {
        1: "known_hard_bounce", 2: "duplicate, known_hard_bounce", 3: "invalid_syntax",
        4: "typo_domain", 5: "typo_domain", 6: "placeholder", 7: "placeholder", 8: "role_account", 9: None,
    }
    assert r.addresses.filter(pl.col("row") == 4)["suggested_address"][0] == "ann@gmail.com"
    assert r.addresses.filter(pl.col("row") == 5)["suggested_address"][0] == "zed@hotmail.com"
    assert (r.total, r.unique, r.flagged) == (9, 8, 8)
    # 8 distinct addresses; certain hard: dead@ (known) and not-an-address (syntax) = 2 at p = 1;
    # the other 6 at p1's own rate, 3 hard of 10 sent = 0.3 -> (2 + 6 * 0.3) / 8 = 3.8 / 8 = 0.475.
    assert r.expected_hard_share == pytest.approx(0.475)
    # 8 sends at 0.475 -> round(3.8) = 4 hard: (3 + 4) / (10 + 8) = 7/18 = 38.9 %.
    assert r.expected_hard_bounces == 4
    assert r.projected_hard_rate == pytest.approx(7 / 18)


def test_presend_suppressed_flag(fixture_db):
    with warehouse.reader(fixture_db) as con:
        r = presend.check(con, None, ["relayuser@test.com"])  # OnAccountSuppressionList in the samples
    assert r.addresses["suppressed"][0] and r.expected_hard_share is None


def test_presend_parses_csv_by_named_or_first_column():
    assert presend.parse_csv(b"\xef\xbb\xbfName,Email\nAnn,a@x.org\nBob,b@y.org\n") == ["a@x.org", "b@y.org"]
    assert presend.parse_csv("a@x.org\nb@y.org\n") == ["a@x.org", "b@y.org"]
    assert presend.parse_csv("contact\na@x.org\n") == ["a@x.org"]
    assert presend.parse_text("a@x.org, b@y.org\nc@z.org") == ["a@x.org", "b@y.org", "c@z.org"]


def test_presend_page_with_pasted_addresses_shows_the_flags(portal_db, monkeypatch):
    monkeypatch.setenv("BOUNCEDESK_DB", str(portal_db))
    at = run_page("pages/presend.py", portal="p1")
    assert at.selectbox(key="presend_portal").value == "p1"
    at.text_area(key="presend_text").input("dead@acme.org\nann@gmial.com\ninfo@acme.org\nu1@acme.org").run()
    assert not at.exception
    shown = at.dataframe[1].value
    assert list(shown["flags"].fillna("")) == ["known_hard_bounce", "typo_domain", "role_account", ""]
    # 4 sends: dead@ at 1, three at 0.3 -> 1.9/4 = 47.5 %; round(1.9) = 2 hard -> 5/14 = 35.7 % >= 10 %.
    assert at.metric[2].value == "47.5%"
    assert at.error or at.warning



def test_sql_in_the_presend_box_is_an_invalid_address_and_changes_nothing(portal_db, monkeypatch):
    monkeypatch.setenv("BOUNCEDESK_DB", str(portal_db))
    before = reads.read(portal_db, "freshness")["events"][0]
    hostile = ["x' or 1=1 --@acme.org", "a@b.org'); drop table fct_recipient_events; --", "%@%",
               "dead@acme.org"]
    at = run_page("pages/presend.py", portal="p1")
    at.text_area(key="presend_text").input("\n".join(hostile)).run()
    assert not at.exception
    shown = at.dataframe[1].value
    flags = dict(zip(shown["input"], shown["flags"].fillna(""), strict=True))
    # The box splits on spaces and commas: each piece is judged as an address (a quote, parenthesis,
    # % or = makes it invalid), and the real address keeps its own flag: the text was data, never SQL.
    assert flags.pop("dead@acme.org") == "known_hard_bounce"
    sql_pieces = {k: v for k, v in flags.items() if set(k) & set("'();%=")}
    assert len(sql_pieces) >= 4 and set(sql_pieces.values()) == {"invalid_syntax"}
    assert reads.read(portal_db, "freshness")["events"][0] == before


def test_a_portal_with_no_mail_yet_can_check_its_first_upload(tmp_path, monkeypatch):
    from pipelines.ingest.refresh import refresh
    from pipelines.ingest.sources import LocalSource
    from tests import sesdata as ses
    from tests.sql.test_rates_status import write_directory

    # The directory lists p1..p4; only p2 has sent mail.
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@x.example", "2026-11-20T10:00:00.000Z", portal="p2")])
    refresh(db, [LocalSource(src)], write_directory(tmp_path / "dir"), quiet=True)
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))
    at = run_page("pages/presend.py", portal="p3")
    assert at.selectbox(key="presend_portal").value == "p3"
    at.text_area(key="presend_text").input("new@x.example\nann@gmial.com").run()
    assert not at.exception
    # 2 sends on no history: too few to judge, before and after; said in words, not as a code.
    status = next(m for m in at.metric if m.label == "Projected status")
    assert status.value == "Too few sends"
