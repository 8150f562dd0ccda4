"""The demo's situations hold once loaded: measured from the facts the loader builds, not from the
generator's own counts (tests/unit/test_demo.py checks the files it writes)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from pipelines.demo import build as demo

END = datetime(2026, 11, 24, 15, tzinfo=UTC)
SMALL = {"sends": 3000, "portals": 12, "days": 20, "seed": 7, "end": END}
HARD = "event_type = 'Bounce' and bounce_type = 'Permanent' and bounce_subtype <> 'OnAccountSuppressionList'"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    out, db = root / "out", root / "demo.duckdb"
    summary = demo.build_demo(out, db, quiet=True, **SMALL)
    return out, db, summary


@pytest.fixture(scope="module")
def con(loaded):
    _, db, _ = loaded
    connection = duckdb.connect(str(db), read_only=True)
    connection.execute("set TimeZone = 'UTC'")
    yield connection
    connection.close()


def _rate(con, portal: str) -> float:
    sent, hard = con.execute(
        f"""
        with recent as (
            select * from fct_recipient_events
            where sent_at >= (select max(event_at) from fct_recipient_events) - interval 30 day
        )
        select
            count(distinct case when event_type = 'Send' then (message_id, recipient) end),
            count(distinct case when {HARD} then (message_id, recipient) end)
        from recent where portal_id = ?
        """,
        [portal],
    ).fetchone()
    assert sent > 100
    return hard / sent


def test_over_cutoff_and_approaching_portals(con):
    assert _rate(con, demo.OVER_CUTOFF_PORTAL) >= 0.10
    assert 0.05 <= _rate(con, demo.APPROACHING_PORTAL) < 0.10
    healthy = [p for (p,) in con.execute("select portal_id from dir_portals").fetchall()
               if p not in (demo.OVER_CUTOFF_PORTAL, demo.APPROACHING_PORTAL, demo.NEW_SUBPORTAL)]
    assert sum(_rate(con, p) < 0.05 for p in healthy if _sent(con, p) > 100) >= 6


def _sent(con, portal: str) -> int:
    return con.execute(
        "select count(*) from fct_recipient_events where event_type = 'Send' and portal_id = ?", [portal]
    ).fetchone()[0]


def test_the_bad_batch_is_the_cause(con):
    batch, hard = con.execute(
        f"select upload_batch_id, count(*) from fct_recipient_events where {HARD} and portal_id = ? "
        "group by 1 order by 2 desc limit 1",
        [demo.OVER_CUTOFF_PORTAL],
    ).fetchone()
    kind = con.execute("select filename from dir_batches where batch_id = ?", [batch]).fetchone()[0]
    assert kind.startswith("contacts_export_FULL_")
    assert hard > 30


def test_typo_domains_placeholders_and_corporate_rejections(con):
    typos = con.execute(
        f"select count(distinct recipient) from fct_recipient_events where {HARD} "
        "and recipient_domain in (select unnest(?))",
        [sorted(demo.TYPO_DOMAINS)],
    ).fetchone()[0]
    assert typos >= 2
    placeholders = {r for (r,) in con.execute(
        f"select distinct recipient from fct_recipient_events where {HARD}"
    ).fetchall()} & set(demo.PLACEHOLDER_ADDRESSES)
    assert {"test@example.com", "user1@test.com"} <= placeholders
    corporate, portals = con.execute(
        "select count(*), count(distinct portal_id) from fct_recipient_events where event_type = 'Bounce' "
        "and recipient_domain = ? and (bounce_subtype = 'ContentRejected' or status_code = '5.7.1')",
        [demo.CORPORATE_DOMAIN],
    ).fetchone()
    assert corporate >= 5
    assert portals >= 2


def test_soft_bounces_complaints_stale_and_unattributed(con):
    counts = dict(con.execute(
        "select coalesce(bounce_subtype, event_type), count(*) from fct_recipient_events "
        "where event_type in ('Bounce', 'Complaint', 'DeliveryDelay', 'Open', 'Click', 'Delivery') group by 1"
    ).fetchall())
    # (complaints are too rare to be sure of at this size: ~1.5 expected)
    for kind in ("MailboxFull", "OnAccountSuppressionList", "Open", "Click", "DeliveryDelay"):
        assert counts.get(kind, 0) > 0, kind
    deliveries = counts["Delivery"] / _total_sent(con)
    assert 0.90 < deliveries < 0.99
    stale = con.execute(
        f"""
        with hard as (select * from fct_recipient_events where {HARD})
        select count(*) from hard
        join dir_users as u on u.email = hard.recipient and u.portal_id = hard.portal_id
        where u.created_at < ? - interval 2 year
        """,
        [END],
    ).fetchone()[0]
    assert stale > 0
    unattributed = con.execute(
        "select count(*) from fct_recipient_events where event_type = 'Send' and portal_id is null"
    ).fetchone()[0]
    assert unattributed >= 5


def _total_sent(con) -> int:
    return con.execute("select count(*) from fct_recipient_events where event_type = 'Send'").fetchone()[0]


def test_feed_defects_are_absorbed(loaded, con):
    _, _, summary = loaded
    assert summary.committed
    assert summary.records_duplicate > 0
    assert summary.records_quarantined == 1
    assert con.execute("select count(distinct object_key) from _quarantine").fetchone()[0] == 1
    reason = con.execute("select reason from _quarantine").fetchone()[0]
    assert "truncated" in reason
    # bounces that only came as SNS notifications (no tags) are attributed through their Send
    notified, lost = con.execute(
        """
        select count(*), count(*) filter (where n.portal_id is null and exists (
            select 1 from fct_recipient_events as s
            where s.message_id = n.message_id and s.event_type = 'Send' and s.portal_id is not null))
        from fct_recipient_events as n where n.source_kind = 'ses_notification'
        """
    ).fetchone()
    assert notified > 0
    assert lost == 0
    assert _total_sent(con) >= SMALL["sends"]
