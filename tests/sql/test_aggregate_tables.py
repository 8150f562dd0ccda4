"""The incremental tables stay exactly equal to their definitions (the model's macro over everything),
through every kind of change a commit makes: fct_recipient_outcomes and fct_address_facts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.warehouse import catalog, reads
from tests import sesdata as ses
from tests.pipeline.test_bounce_logs import dsn_mail
from tests.sql.test_rates_status import write_directory

T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"


def assert_equal(db: Path) -> None:
    with warehouse.reader(db) as con:
        for model in catalog.incremental_tables():
            table, view = model.name, f"({model.everything()})"
            rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
            diff = "select count(*) from (select * from {} except all select * from {})"
            table_only = con.execute(diff.format(table, view)).fetchall()[0][0]
            view_only = con.execute(diff.format(view, table)).fetchall()[0][0]
            assert (table_only, view_only) == (0, 0), \
                f"{table}: {rows} rows; {table_only} only in the table, {view_only} only in the view"


def test_incremental_aggregates_match_their_views_through_every_kind_of_change(tmp_path):
    src, logs, db = tmp_path / "ses", tmp_path / "logs", tmp_path / "d.duckdb"
    logs.mkdir()
    # 1. A bounce notification before its Send (no portal yet), and a log bounce of another message.
    ses.write_object(src, "1", [ses.notification(ses.bounce("late", "l@a.example", T0, T1))])
    (logs / "1.eml").write_bytes(dsn_mail("bob@b.example", "m2"))
    refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    assert_equal(db)
    # 2. The Send arrives (re-attributes the bounce), SES reports bob's bounce (replaces the log's),
    #    an event is delivered twice, and an address at a typo domain is mailed (the address facts
    #    judge only the load's own domains).
    ses.write_object(src, "2", [
        ses.send("late", "l@a.example", T0, portal="p1"),
        ses.send("m2", "bob@b.example", T0, portal="p2"),
        ses.bounce("m2", "bob@b.example", T0, T1, portal="p2"),
        ses.send("m3", "c@a.example", T0, portal="p1"), ses.send("m3", "c@a.example", T0, portal="p1"),
        ses.send("m5", "t@gmial.com", T0, portal="p1"),
    ])
    refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select recipient, typo_suggestion from fct_address_facts "
                           "where typo_suggestion is not null").fetchall() == [("t@gmial.com", "gmail.com")]
    # 3. A directory reload attributes an unattributed address.
    ses.write_object(src, "3", [ses.send("m4", "dee@d.example", T0, portal=None)])
    directory = write_directory(tmp_path / "dir")
    (directory / "users.csv").write_text(
        "user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
        "u1,p3,Dee,dee@d.example,active,b1,2026-01-01T00:00:00Z\n")
    refresh(db, [LocalSource(src)], directory=directory, quiet=True)
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select portal_id from fct_recipient_outcomes where recipient = 'dee@d.example'"
                           ).fetchall() == [("p3",)]
        # One (message, recipient) each: late, m2, m3 (sent twice), m4 and m5.
        assert con.execute("select count(*) from fct_recipient_outcomes").fetchall() == [(5,)]


def test_event_days_follow_a_bounce_mail_dated_apart_from_its_message(tmp_path):
    # A bounce mail's row is dated by the mail (its returned headers say 20 Nov), its message's outcome
    # by the Send (19 Nov): the send-day tables must recompute the mail's day too, when it arrives and
    # when SES's own report of the bounce replaces it.
    src, logs, db = tmp_path / "ses", tmp_path / "logs", tmp_path / "d.duckdb"
    logs.mkdir()
    sent, bounced = "2026-11-19T10:00:00.000Z", "2026-11-19T10:00:05.000Z"
    ses.write_object(src, "1", [ses.send("m5", "eve@e.example", sent, portal="p1")])
    refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    (logs / "1.eml").write_bytes(dsn_mail("eve@e.example", "m5"))
    refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    assert_equal(db)
    days = "select sent_date::varchar, event_type, events from mart_event_days order by all"
    with warehouse.reader(db) as con:
        # By hand: the Send on the 19th, the mail's bounce on the 20th.
        assert con.execute(days).fetchall() == [("2026-11-19", "Send", 1), ("2026-11-20", "Bounce", 1)]
    ses.write_object(src, "2", [ses.bounce("m5", "eve@e.example", sent, bounced, portal="p1")])
    refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    assert_equal(db)
    with warehouse.reader(db) as con:
        # SES's bounce, dated by its message, replaced the mail's: nothing is left on the 20th.
        assert con.execute(days).fetchall() == [("2026-11-19", "Bounce", 1), ("2026-11-19", "Send", 1)]


def test_a_table_given_its_first_rows_by_a_load_is_kept_not_rebuilt(tmp_path):
    # Until the first mail no portal could be found for, mart_unattributed_days is rightly empty; the load
    # that brings some must not read as "a database from before the table" and rebuild every table
    # (the whole history, at scale).
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    built = "select built_at from _aggregate_definitions"
    with warehouse.reader(db) as con:
        first_build = con.execute(built).fetchall()
    ses.write_object(src, "2", [ses.send("m2", "b@b.example", T0, portal=None)])
    refresh(db, [LocalSource(src)], quiet=True)
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select recipient from mart_unattributed_days").fetchall() == [("b@b.example",)]
        assert con.execute(built).fetchall() == first_build


def test_demo_aggregates_match_their_views(tmp_path):
    from pipelines.demo.build import build_demo

    db = tmp_path / "demo.duckdb"
    build_demo(tmp_path / "out", db, sends=2000, portals=12, days=15, quiet=True)
    assert_equal(db)


def _sent_and_bounced_once(tmp_path: Path) -> tuple[Path, Path]:
    """A database of one load: m1 sent to a@a.example (portal p1) and hard-bounced; its source folder."""
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1"),
                                ses.bounce("m1", "a@a.example", T0, T1, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    return src, db


def test_a_database_from_before_an_aggregate_builds_it_at_the_next_refresh_even_with_nothing_new(tmp_path):
    src, db = _sent_and_bounced_once(tmp_path)
    # An older release had no address facts: the table is empty while the facts are not.
    with warehouse.writer(db) as con:
        con.execute("delete from fct_address_facts")
    summary = refresh(db, [LocalSource(src)], quiet=True)
    assert summary.objects_new == 0 and summary.committed
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select recipient, hard_bounces from fct_address_facts").fetchall() == [
            ("a@a.example", 1)]
    # Once built, a run with nothing new commits nothing.
    assert not refresh(db, [LocalSource(src)], quiet=True).committed


def test_aggregates_built_by_another_definition_are_rebuilt_whole(tmp_path):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    # Rows left by an older rule: a wrong count, and the definition they were built with.
    with warehouse.writer(db) as con:
        con.execute("update fct_address_facts set sends = 99")
        con.execute("update _aggregate_definitions set definition_hash = 'older rule'")
    assert refresh(db, [LocalSource(src)], quiet=True).committed
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select sends from fct_address_facts").fetchall() == [(1,)]
        assert con.execute("select definition_hash from _aggregate_definitions").fetchall() == [
            (catalog.incremental_definitions_hash(),)]


def test_an_aggregate_whose_columns_changed_is_rebuilt_though_views_read_the_new_column(tmp_path):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1", batch="b1")])
    refresh(db, [LocalSource(src)], quiet=True)
    # An older release's table, without a column the causes and the batches now read.
    with warehouse.writer(db) as con:
        con.execute("alter table mart_portal_days drop column upload_batch_id")
        con.execute("update _aggregate_definitions set definition_hash = 'older rule'")
    assert refresh(db, [LocalSource(src)], quiet=True).committed
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select portal_id, upload_batch_id, sent from mart_portal_days").fetchall() == [
            ("p1", "b1", 1)]


def test_an_older_database_says_to_refresh_and_one_refresh_with_nothing_new_upgrades_it(tmp_path):
    from pipelines.reports import metrics

    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    # What a release before the address facts left: no such table, views stored by older code.
    with warehouse.writer(db) as con:
        con.execute("drop view if exists mart_portal_causes")
        con.execute("drop view if exists mart_address_facts")
        con.execute("drop table fct_address_facts")
        con.execute("update _view_definitions set definition_hash = 'older release'")
    with pytest.raises(warehouse.DatabaseOutdated, match="python -m pipelines refresh"), \
            warehouse.reader(db) as con:
        metrics.status_table(con)
    assert refresh(db, [LocalSource(src)], quiet=True).committed
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert metrics.status_table(con)["portal_id"].to_list() == ["p1"]


def test_events_from_before_the_address_key_get_it_and_their_addresses_refresh_by_it(tmp_path):
    src, db = _sent_and_bounced_once(tmp_path)
    # A file written before the key: the events have no such column (the outcomes keep theirs).
    with warehouse.writer(db) as con:
        con.execute("alter table fct_recipient_events drop column recipient_key")
        con.execute("update _view_definitions set definition_hash = 'older release'")
    # The next load sends to a@ again: its address facts are found by key among the older outcomes.
    ses.write_object(src, "2", [ses.send("m2", "a@a.example", T0, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    with warehouse.reader(db) as con:
        assert con.execute("select count(*), count(*) filter (where recipient_key = address_key(recipient)) "
                           "from fct_recipient_events").fetchall() == [(3, 3)]
        assert con.execute("select count(*) filter (where recipient_key = address_key(recipient)) "
                           "from fct_recipient_outcomes").fetchall() == [(2,)]
        # By hand: two messages sent to a@, one hard-bounced.
        assert con.execute("select sends, hard_bounces from fct_address_facts").fetchall() == [(2, 1)]
    assert_equal(db)


def test_an_ses_bounce_replacing_a_bounce_mail_dated_another_day_leaves_no_stale_row(tmp_path):
    src, logs, db = tmp_path / "ses", tmp_path / "logs", tmp_path / "d.duckdb"
    logs.mkdir()
    # 1. A bounce mail about m7, dated by its returned headers (2026-11-20, dsn_mail's date).
    (logs / "1.eml").write_bytes(dsn_mail("d@x.example", "m7"))
    refresh(db, [LocalSource(logs)], quiet=True)
    # 2. SES's own Send and Bounce of m7, sent the next day: SES's bounce replaces the mail's, whose
    #    outcome row lay on a send date this load does not touch.
    day2, later = "2026-11-21T09:00:00.000Z", "2026-11-21T09:00:05.000Z"
    ses.write_object(src, "2", [ses.send("m7", "d@x.example", day2),
                                ses.bounce("m7", "d@x.example", day2, later)])
    refresh(db, [LocalSource(src)], quiet=True)
    assert_equal(db)
    with warehouse.reader(db) as con:  # one hard bounce, counted once
        assert con.execute("select count(*) filter (where hard_bounced) from fct_recipient_outcomes"
                           ).fetchall() == [(1,)]


def test_status_counts_are_the_instant_windows_over_the_outcomes(tmp_path):
    """portal_status sums whole days from mart_portal_days and counts the two edge days from the
    outcomes: for any as_of (a day's start, mid-day, a send's own instant, a microsecond either side)
    and window length, its counts are those of (as_of - days, as_of] counted straight from the outcomes.
    Sends every 7 hours for 40 days to two portals, every 3rd hard-bounced and every 5th soft."""
    from datetime import UTC, datetime, timedelta

    from pipelines.reports import metrics

    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    start = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
    records = []
    for i in range(40 * 24 // 7):
        at = start + timedelta(hours=7 * i)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        portal, to = ("p1", "p2")[i % 2], f"u{i}@x.example"
        records.append(ses.send(f"m{i}", to, stamp, portal=portal))
        if i % 3 == 0:
            records.append(ses.bounce(f"m{i}", to, stamp, stamp, portal=portal))
        elif i % 5 == 0:
            records.append(ses.bounce(f"m{i}", to, stamp, stamp, portal=portal, btype="Transient",
                                      subtype="MailboxFull", status="4.2.2", diagnostic="smtp; 452 full"))
    ses.write_object(src, "1", records)
    refresh(db, [LocalSource(src)], quiet=True)
    send_instant = start + timedelta(hours=7 * 100)
    instants = [datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 2, 13, 30, tzinfo=UTC), send_instant,
                send_instant + timedelta(microseconds=1), send_instant - timedelta(microseconds=1)]
    direct = """
        select portal_id, count(*), count(*) filter (where hard_bounced), count(*) filter (where soft_bounced)
        from fct_rated_outcomes
        where sent and sent_at > $as_of::timestamptz - to_days(cast($days as integer))
            and sent_at <= $as_of::timestamptz
        group by portal_id order by portal_id"""
    daily = """
        select portal_id, sent_date, count(*), count(*) filter (where hard_bounced)
        from fct_rated_outcomes
        where sent and sent_at > $as_of::timestamptz - to_days(cast($days as integer))
            and sent_at <= $as_of::timestamptz
        group by all"""
    checked = 0
    with warehouse.reader(db) as con:
        for as_of in instants:
            for days in (1, 7, 30):
                s = metrics.portal_status(con, as_of=as_of, window_days=days)
                got = [r for r in s.filter(scope="alone").sort("portal_id").select(
                    "portal_id", "sent", "hard_bounced", "soft_bounced").iter_rows() if r[1]]
                expected = con.execute(direct, {"as_of": as_of, "days": days}).fetchall()
                assert got == expected, (as_of, days)
                checked += sum(r[1] for r in got)
                # The Overview's sparklines: each day's hard-bounce rate in the same window.
                trends = reads.run(con, "app_portal_trends", as_of=as_of, window_days=days)
                got_trends = {r["portal_id"]: r["trend"] for r in trends.to_dicts()}
                expected_trends = {p: [h / n for _, n, h in sorted(rows)] for p, rows in _by_portal(
                    con.execute(daily, {"as_of": as_of, "days": days}).fetchall()).items()}
                assert got_trends == expected_trends, (as_of, days)
    assert checked > 500  # the windows held sends to count (not every comparison of nothing)


def _by_portal(rows: list[tuple]) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for portal, *rest in rows:
        out.setdefault(portal, []).append(tuple(rest))
    return out


def test_rates_are_the_instant_windows_over_the_outcomes(tmp_path):
    """rates.sql sums whole days from mart_portal_days / mart_portal_day_keys, counts the two edge days
    from the outcomes and the distinct hard-bounced addresses from mart_hard_bounces: for every
    dimension, for the account, one portal and a roll-up, at instants on and beside a send and a day's
    start, its rows are those of (as_of - days, as_of] counted straight from the outcomes. Sends every
    5 hours for 30 days over three portals (p1a under p1), two domains, two batches and two message
    types; every 3rd hard-bounced, every 4th address sent to twice; reasons from the bounce classifier."""
    from datetime import UTC, datetime, timedelta

    from pipelines.reports import metrics
    from tests.sql.test_rates_status import write_directory

    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    start = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
    records = []
    for i in range(30 * 24 // 5):
        stamp = (start + timedelta(hours=5 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        portal = ("p1", "p1a", "p2")[i % 3]
        to = f"u{i - i % 4 if i % 4 == 1 else i}@{('x', 'y')[i % 2]}.example"
        records.append(ses.send(f"m{i}", to, stamp, portal=portal, batch=("b1", "b2", None)[i % 5 % 3],
                                mtype=("invitation", "reminder")[i % 7 % 2]))
        if i % 3 == 0:
            records.append(ses.bounce(f"m{i}", to, stamp, stamp, portal=portal))
        elif i % 5 == 0:
            records.append(ses.bounce(f"m{i}", to, stamp, stamp, portal=portal, btype="Transient",
                                      subtype="MailboxFull", status="4.2.2", diagnostic="smtp; 452 full"))
    ses.write_object(src, "1", records)
    refresh(db, [LocalSource(src)], directory=write_directory(tmp_path / "dir"), quiet=True)
    send_instant = start + timedelta(hours=5 * 70)
    instants = [datetime(2026, 10, 20, tzinfo=UTC), send_instant, send_instant + timedelta(microseconds=1),
                send_instant - timedelta(microseconds=1)]
    # The definition, straight from the outcomes (what rates.sql computed before the kept counts).
    direct = """
        with w as (
            select * from fct_rated_outcomes
            where sent_at > $as_of::timestamptz - to_days(cast($days as integer))
                and sent_at <= $as_of::timestamptz
                and (cast($portals as varchar[]) is null
                    or list_contains(cast($portals as varchar[]), portal_id))
        ),
        k as (
            select rate_key($dimension, portal_id, recipient_domain, upload_batch_id, message_type,
                bounce_reason) as key, w.* from w where $dimension <> 'rollup'
            union all
            select t.root_portal_id, w.* from w join dim_portal_tree as t on t.portal_id = w.portal_id
            where $dimension = 'rollup'
        )
        select key, count(*) filter (where sent), count(*) filter (where sent and delivered),
            count(*) filter (where sent and hard_bounced), count(*) filter (where sent and soft_bounced),
            count(*) filter (where rejected),
            count(distinct case when sent and hard_bounced then recipient end)
        from k group by key order by key"""
    columns = ["key", "sent", "delivered", "hard_bounced", "soft_bounced", "rejects",
               "hard_bounced_addresses"]
    checked = 0
    with warehouse.reader(db) as con:
        for as_of in instants:
            for days in (1, 7, 30):
                for portal, rollup, portals in ((None, False, None), ("p1a", False, ["p1a"]),
                                                ("p1", True, ["p1", "p1a"])):
                    for dimension in metrics.DIMENSIONS:
                        got = metrics.rates(con, dimension, as_of=as_of, window_days=days,
                                            portal_id=portal, rollup=rollup).sort("key").select(columns)
                        expected = con.execute(direct, {"as_of": as_of, "days": days, "portals": portals,
                                                        "dimension": dimension}).fetchall()
                        assert list(got.iter_rows()) == expected, (as_of, days, portal, dimension)
                        checked += sum(r[1] for r in expected)
    assert checked > 5000  # the windows held sends to count (not every comparison of nothing)
    # The restore brief's breakdown (whole history, from the same kept tables) against its definition
    # straight from the outcomes.
    breakdown = """
        with s as (select * from fct_rated_outcomes where portal_id = $portal_id),
        g as (
            select 'batch' as dimension, coalesce(upload_batch_id, '(no batch)') as value,
                count(*) filter (where sent) as sent, count(*) filter (where hard_bounced) as hard,
                count(*) filter (where bounced_at is not null) as bounced from s group by 2
            union all
            select 'domain', coalesce(recipient_domain, '(none)'), count(*) filter (where sent),
                count(*) filter (where hard_bounced), count(*) filter (where bounced_at is not null)
            from s group by 2
            union all
            select 'reason', bounce_reason, count(*) filter (where sent),
                count(*) filter (where hard_bounced), count(*) filter (where bounced_at is not null)
            from s where bounce_reason is not null group by 2
        )
        select dimension, value, sent, hard, bounced from g where bounced > 0 order by all"""
    with warehouse.reader(db) as con:
        for portal in ("p1", "p1a", "p2"):
            got = reads.run(con, "brief_breakdown", portal_id=portal).sort("dimension", "value")
            expected = con.execute(breakdown, {"portal_id": portal}).fetchall()
            assert list(got.select("dimension", "value", "sent", "hard_bounced", "bounced").iter_rows()) \
                == expected, portal
            # Two batches and no batch, two domains, and at least the hard bounces' reason.
            assert {r[0] for r in expected} == {"batch", "domain", "reason"}, portal
    # The forecast's send profile (whole days from the same kept tables, the edge days from the outcomes)
    # against its definition straight from the outcomes, at each instant, for three pairs of windows.
    profile = """
        with members as (
            select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))) as portal_id
        ),

        recent as (
            select
                o.upload_batch_id,
                o.sent_at,
                o.hard_bounced,
                o.sent_at > $as_of::timestamptz - to_microseconds(cast($baseline_days * 86400e6 as bigint))
                    as in_baseline,
                o.sent_at > $as_of::timestamptz - to_microseconds(cast($trend_days * 86400e6 as bigint))
                    as in_trend
            from fct_rated_outcomes as o
            where o.sent
                and o.portal_id in (select portal_id from members)
                and o.sent_at <= $as_of::timestamptz
                and o.sent_at > $as_of::timestamptz
                - to_microseconds(cast(greatest($baseline_days, $trend_days) * 86400e6 as bigint))
        ),

        baseline as (
            select * from recent where in_baseline
        ),

        batches as (
            select
                upload_batch_id,
                count(*) as sent,
                count(*) filter (where hard_bounced) as hard_bounced
            from baseline
            where upload_batch_id is not null
            group by upload_batch_id
        ),

        worst as (
            select *
            from batches
            where hard_bounced > 0
            order by hard_bounced desc, hard_bounced / sent desc, upload_batch_id
            limit 1
        ),

        final as (
            select
                (select count(*) from baseline) as baseline_sent,
                (select count(*) filter (where hard_bounced) from baseline) as baseline_hard_bounced,
                (select upload_batch_id from worst) as worst_batch_id,
                coalesce((select sent from worst), 0) as worst_batch_sent,
                coalesce((select hard_bounced from worst), 0) as worst_batch_hard_bounced,
                (select count(*) from recent where in_trend) as trend_sent,
                (select count(*) filter (where hard_bounced) from recent where in_trend) as trend_hard_bounced
        )

        select * from final
    """
    profiled = 0
    with warehouse.reader(db) as con:
        for as_of in instants:
            # A trend window of six hours starts on as_of's own day.
            for baseline_days, trend_days in ((30.0, 7.0), (7.0, 1.5), (2.0, 0.25)):
                for portal, rollup in (("p1", False), ("p1", True), ("p2", False)):
                    params = {"portal_id": portal, "rollup": rollup, "as_of": as_of,
                              "baseline_days": baseline_days, "trend_days": trend_days}
                    got = reads.run(con, "portal_send_profile", portals=reads.members(con, portal, rollup),
                                    **params)
                    expected = con.execute(profile, params).fetchall()
                    assert list(got.iter_rows()) == expected, params
                    profiled += expected[0][0]
    assert profiled > 500  # the windows held sends to count (637 baseline sends over the cases)


def test_two_addresses_sharing_a_key_keep_their_own_facts(tmp_path, monkeypatch):
    # A 63-bit key shared by two addresses is too rare to find: address_key is replaced by one that gives
    # a@ and b@ the same key. A load touching only a@ must recompute b@ too (their facts are found and
    # removed by key) and tell their outcomes apart by the address.
    shared = ("create or replace macro address_key(address) as case when address in "
              "('a@a.example', 'b@b.example') then 7 "
              "else cast(md5_number_lower(address) >> 1 as bigint) end;")
    original = catalog.sql

    def colliding(path: str) -> str:
        text = original(path)
        return re.sub(r"create or replace macro address_key\(address\) as [^;]*;", shared, text) \
            if path == "macros.sql" else text

    monkeypatch.setattr(catalog, "sql", colliding)
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send("m1", "a@a.example", T0, portal="p1"),
                                ses.bounce("m1", "a@a.example", T0, T1, portal="p1"),
                                ses.send("m2", "b@b.example", T0, portal="p1"),
                                ses.delivery("m2", "b@b.example", T0, T1, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    ses.write_object(src, "2", [ses.send("m3", "a@a.example", T0, portal="p1")])
    refresh(db, [LocalSource(src)], quiet=True)
    with warehouse.reader(db) as con:
        keys = "select count(distinct recipient_key) from fct_recipient_outcomes"
        assert con.execute(keys).fetchall() == [(1,)]
        # By hand: a@ sent m1 (hard-bounced) and m3; b@ sent m2, delivered.
        assert con.execute("select recipient, sends, hard_bounces, deliveries from fct_address_facts "
                           "order by recipient").fetchall() == [("a@a.example", 2, 1, 0),
                                                                ("b@b.example", 1, 0, 1)]
        # The pre-send check's history finds both by the key and tells them apart by the address: b@
        # (delivered) never takes a@'s hard bounce.
        history = reads.run(con, "address_history", addresses=["b@b.example", "a@a.example"],
                            dead_domain_min_sent=3)
        assert history.select("address", "hard_bounces", "known_hard_bounce").rows() == [
            ("a@a.example", 1, True), ("b@b.example", 0, False)]
    assert_equal(db)
