"""The day-by-day replay of the status policy, on a tiny database built by the real loader.

Every day is judged at its end, 23:59:59.999999 UTC; a 30-day window ending then holds the sends of
that UTC day and the 29 before it. Numbers worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest

from pipelines import warehouse
from pipelines.reports import metrics, projection
from pipelines.reports.policy import Policy, Window
from pipelines.warehouse import reads
from tests.sql.test_projection import build_db, mails

WINDOW_30D = Window(name="30d", days=30, min_sent=100, warning=0.05, cutoff=0.10,
                    complaint_warning=0.001, complaint_cutoff=0.005)
POLICY = Policy(windows=(WINDOW_30D,))
SINCE, UNTIL = date(2026, 10, 31), date(2026, 12, 2)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    records = []
    # p5: 100 clean sends on 11-01; on 11-10 at 23:59:59.999 (still 11-10) an upload of 10, 6 hard.
    records += mails("p5", "r", 100, "2026-11-01T12:00:00Z")
    records += mails("p5", "bad", 10, "2026-11-10T23:59:59.999Z", hard=6, batch="b5")
    # p6, sub-portal of p5: 20 sends on 11-05, 4 hard.
    records += mails("p6", "s", 20, "2026-11-05T12:00:00Z", hard=4)
    # p7: one send on the last microsecond of 10-31, one on the first of 11-11.
    records += mails("p7", "e", 1, "2026-10-31T23:59:59.999999Z")
    records += mails("p7", "f", 1, "2026-11-11T00:00:00.000Z")
    return build_db(tmp_path_factory.mktemp("timeline"), records, "p5,Five,\np6,Six,p5\n")


@pytest.fixture
def con(db):
    with warehouse.reader(db) as c:
        yield c


def rows(timeline: pl.DataFrame, portal: str) -> dict[date, dict]:
    return {r["day"]: r for r in timeline.filter(pl.col("portal_id") == portal).to_dicts()}


def test_the_day_a_portal_crosses_into_approaching(con):
    timeline = projection.status_timeline(con, POLICY, SINCE, UNTIL)
    assert timeline.columns[:7] == ["day", "portal_id", "sent", "hard_bounced", "hard_rate", "complaints",
                                    "complaint_rate"]
    assert timeline.columns[7:] == ["status", "deciding_window"]
    # One row per portal and day: p5, p6 and p7, 10-31..12-02 = 33 days.
    assert timeline.height == 3 * 33
    p5 = rows(timeline, "p5")
    # 10-31: nothing yet. 11-01..11-09: 100 sent, 0 hard: ok.
    assert (p5[date(2026, 10, 31)]["sent"], p5[date(2026, 10, 31)]["status"]) == (0, "insufficient_volume")
    assert (p5[date(2026, 11, 9)]["sent"], p5[date(2026, 11, 9)]["status"]) == (100, "ok")
    # 11-10: the batch sent at 23:59:59.999 is inside the day: 110 sent, 6 hard = 5.45 % >= 5 %.
    assert (p5[date(2026, 11, 10)]["sent"], p5[date(2026, 11, 10)]["hard_bounced"]) == (110, 6)
    assert p5[date(2026, 11, 10)]["status"] == "approaching"
    # 11-30: the window (10-31T23:59:59.999999, 11-30T23:59:59.999999] still holds 11-01's sends;
    # 12-01 no longer: 10 sent (6 hard) < min_sent.
    assert (p5[date(2026, 11, 30)]["sent"], p5[date(2026, 12, 1)]["sent"]) == (110, 10)
    changes = projection.status_changes(timeline).filter(pl.col("portal_id") == "p5")
    assert changes.select("day", "from_status", "to_status").rows() == [
        (date(2026, 11, 1), "insufficient_volume", "ok"),
        (date(2026, 11, 10), "ok", "approaching"),
        (date(2026, 12, 1), "approaching", "insufficient_volume"),
    ]
    assert changes["hard_rate"].to_list() == pytest.approx([0.0, 6 / 110, 6 / 10])
    # p6 alone: 20 sent < 100 throughout: no change at all.
    assert projection.status_changes(timeline).filter(pl.col("portal_id") == "p6").height == 0


def test_days_end_at_the_last_microsecond(con):
    p7 = {d: r["sent"] for d, r in rows(projection.status_timeline(con, POLICY, SINCE, UNTIL, ["p7"]),
                                          "p7").items()}
    # 10-31T23:59:59.999999 belongs to 10-31; 11-11T00:00 to 11-11, not 11-10.
    assert (p7[date(2026, 10, 31)], p7[date(2026, 11, 10)], p7[date(2026, 11, 11)]) == (1, 1, 2)
    # The window ending 11-29T23:59:59.999999 starts after 10-30T23:59:59.999999: the 10-31 send is
    # in; the one ending 11-30 starts after exactly that send: out.
    assert (p7[date(2026, 11, 29)], p7[date(2026, 11, 30)]) == (2, 1)


def test_a_proposed_policy_replayed_over_the_same_days(con):
    # Warning at 6 %: 6/110 = 5.45 % stays ok, and p5 never leaves ok until 12-01.
    lenient = Policy(windows=(WINDOW_30D,), overrides={"p5": {"warning": 0.06}})
    changes = projection.status_changes(projection.status_timeline(con, lenient, SINCE, UNTIL, ["p5"]))
    assert changes.select("day", "to_status").rows() == [
        (date(2026, 11, 1), "ok"), (date(2026, 12, 1), "insufficient_volume")]
    # A second, one-day window with min_sent 5: on 11-10 it holds the batch alone, 6/10 = 60 %:
    # exceeded, and it decides; on 11-11 it is empty (insufficient) and the 30-day window decides.
    day = Window(name="1d", days=1, min_sent=5, warning=0.05, cutoff=0.10,
                 complaint_warning=0.001, complaint_cutoff=0.005)
    p5 = rows(projection.status_timeline(con, Policy(windows=(WINDOW_30D, day)), SINCE, UNTIL, ["p5"]), "p5")
    assert (p5[date(2026, 11, 10)]["status"], p5[date(2026, 11, 10)]["deciding_window"]) == ("exceeded", "1d")
    assert (p5[date(2026, 11, 10)]["sent"], p5[date(2026, 11, 10)]["hard_bounced"]) == (10, 6)
    assert (p5[date(2026, 11, 11)]["status"], p5[date(2026, 11, 11)]["deciding_window"]) == (
        "approaching", "30d")


def test_rollup_adds_the_sub_portals(con):
    timeline = projection.status_timeline(con, POLICY, SINCE, UNTIL, ["p5"], with_subportals=True)
    p5 = rows(timeline, "p5")
    # 11-05: 100 + p6's 20 = 120 sent, 4 hard = 3.3 %: ok. 11-10: 130 sent, 10 hard = 7.7 %.
    assert (p5[date(2026, 11, 5)]["sent"], p5[date(2026, 11, 5)]["status"]) == (120, "ok")
    assert (p5[date(2026, 11, 10)]["sent"], p5[date(2026, 11, 10)]["hard_bounced"]) == (130, 10)
    assert p5[date(2026, 11, 10)]["status"] == "approaching"
    assert set(timeline["portal_id"]) == {"p5"}
    # p6 is in the directory under p5; p7 in none: alone and rolled up are the same.
    rolled = projection.status_timeline(con, POLICY, SINCE, UNTIL, ["p7"], with_subportals=True)
    alone = projection.status_timeline(con, POLICY, SINCE, UNTIL, ["p7"])
    assert rolled["sent"].to_list() == alone["sent"].to_list()


def test_each_day_agrees_with_portal_status_at_its_end(con):
    day = Window(name="1d", days=1, min_sent=5, warning=0.05, cutoff=0.10,
                 complaint_warning=0.001, complaint_cutoff=0.005)
    policy = Policy(windows=(WINDOW_30D, day))
    for rollup, scope in ((False, "alone"), (True, "rollup")):
        timeline = projection.status_timeline(con, policy, SINCE, UNTIL, with_subportals=rollup)
        for d in (date(2026, 10, 31), date(2026, 11, 5), date(2026, 11, 10), date(2026, 11, 11),
                  date(2026, 12, 1)):
            end = datetime.combine(d, time(23, 59, 59, 999999), tzinfo=UTC)
            expected = metrics.portal_status(con, policy, end).filter(pl.col("scope") == scope)
            got = timeline.filter(pl.col("day") == d)
            # p7 is known from its mail alone: both treat it as its own roll-up.
            cols = ["portal_id", "sent", "hard_bounced", "status", "deciding_window"]
            assert got.select(cols).sort("portal_id").rows() == expected.select(cols).sort("portal_id").rows()


def test_the_timeline_is_one_query(con, monkeypatch):
    calls = []
    original = reads.run
    monkeypatch.setattr(reads, "run", lambda *a, **k: calls.append(a[1]) or original(*a, **k))
    projection.status_timeline(con, POLICY, date(2026, 1, 1), date(2026, 12, 31))
    assert calls == ["status_timeline"]


def test_until_before_since_is_refused(con):
    with pytest.raises(ValueError, match="until"):
        projection.status_timeline(con, POLICY, UNTIL, SINCE)


@pytest.mark.parametrize("days", ["0.5", "0", "1.25", "true"])
def test_a_window_is_a_whole_number_of_days(tmp_path, days):
    # The timeline counts by UTC day of sending: that is exact only for windows of whole days.
    from pipelines.reports.policy import load_policy

    text = ('[[window]]\nname = "w"\ndays = {}\nmin_sent = 1\nwarning = 0.05\ncutoff = 0.1\n'
            'complaint_warning = 0.001\ncomplaint_cutoff = 0.005\n')
    path = tmp_path / "policy.toml"
    path.write_text(text.format(days))
    with pytest.raises(ValueError, match="days must be a whole number of days"):
        load_policy(path)
    path.write_text(text.format(30) + f"[portal.p1]\ndays = {days}\n")
    with pytest.raises(ValueError, match="days must be a whole number of days"):
        load_policy(path)
    path.write_text(text.format("7.0"))
    assert load_policy(path).windows[0].days == 7
