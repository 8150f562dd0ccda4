"""Projection and forecast on a tiny database built by the real loader; every number worked out by hand.

Policy unless a test says otherwise: one 30-day window, min_sent 100, warning 5 %, cutoff 10 %.
AS_OF = 2026-11-20T12:00Z, so the window at AS_OF is (2026-10-21T12:00Z, 2026-11-20T12:00Z].
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import metrics, projection
from pipelines.reports.policy import Policy, Window
from tests import sesdata as ses

AS_OF = datetime(2026, 11, 20, 12, tzinfo=UTC)
WINDOW_30D = Window(name="30d", days=30, min_sent=100, warning=0.05, cutoff=0.10,
                    complaint_warning=0.001, complaint_cutoff=0.005)
POLICY = Policy(windows=(WINDOW_30D,))


def mails(portal: str, prefix: str, n: int, sent: str, hard: int = 0, bounced: str | None = None,
          batch: str | None = None, domain: str = "a.example") -> list[dict]:
    """n one-recipient messages to {prefix}{i}@{domain} sent at `sent`; the first `hard` of them
    hard-bounce (SES Permanent/General) at `bounced` (default: when sent)."""
    records = []
    for i in range(n):
        message, to = f"{prefix}-{i}", f"{prefix}{i}@{domain}"
        records.append(ses.send(message, to, sent, portal=portal, batch=batch))
        if i < hard:
            records.append(ses.bounce(message, to, sent, bounced or sent, portal=portal))
    return records


def build_db(root: Path, records: list[dict], portals: str = "") -> Path:
    """Load `records` with the real loader; `portals` are portals.csv rows (id,name,parent)."""
    ses.write_object(root / "ses", "2026/11/20/12/a", records)
    directory = root / "dir"
    directory.mkdir()
    (directory / "portals.csv").write_text("portal_id,name,parent_portal_id\n" + portals)
    (directory / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (directory / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    db = root / "d.duckdb"
    refresh(db, [LocalSource(root / "ses")], directory=directory, quiet=True)
    return db


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    records = []
    # p1 in the window: 89 routine sends + an upload batch of 10 (6 hard) + the edge send just
    # inside = 100 sent, 6 hard = 6 %: approaching.
    records += mails("p1", "r", 89, "2026-11-01T09:00:00.000Z")
    records += mails("p1", "bad", 10, "2026-11-05T09:00:00.000Z", hard=6, batch="b-bad")
    records += mails("p1", "in", 1, "2026-10-21T12:00:00.000001Z")  # AS_OF - 30 days + 1 µs: inside
    # Outside the window though hard-bounced: sent exactly at AS_OF - 30 days; sent before the
    # window but bounced inside it; sent after AS_OF.
    records += mails("p1", "edge", 1, "2026-10-21T12:00:00.000Z", hard=1, bounced="2026-10-22T12:00:00Z")
    records += mails("p1", "old", 1, "2026-10-15T08:00:00Z", hard=1, bounced="2026-11-10T08:00:00Z")
    records += mails("p1", "late", 1, "2026-11-20T12:00:00.001Z", hard=1)
    # p1a, sub-portal of p1: 20 sent, 4 hard. With p1: 120 sent, 10 hard.
    records += mails("p1a", "sub", 20, "2026-11-12T10:00:00Z", hard=4)
    # p2: 45 routine + 3 to dead.example (all hard) + 2 to twice.example (both hard) = 50 sent,
    # 5 hard = 10 %, but under min_sent 100: insufficient_volume.
    records += mails("p2", "q", 45, "2026-11-02T10:00:00Z", domain="c.example")
    records += mails("p2", "x", 3, "2026-11-02T10:00:00Z", hard=3, domain="dead.example")
    records += mails("p2", "y", 2, "2026-11-02T10:00:00Z", hard=2, domain="twice.example")
    # p3, for the forecast: batch b3 of 20 (10 hard) on 10-25, 100 routine sends on 11-15 =
    # 120 sent, 10 hard = 8.33 %: approaching.
    records += mails("p3", "p3b", 20, "2026-10-25T12:00:00Z", hard=10, batch="b3")
    records += mails("p3", "p3r", 100, "2026-11-15T12:00:00Z")
    # p4, for the trend: 100 routine on 11-10, 70 on 11-17 of which 14 hard = 170 sent, 14 hard
    # = 8.24 %: approaching; the last 7 days send 10 a day at 20 %.
    records += mails("p4", "p4r", 100, "2026-11-10T12:00:00Z")
    records += mails("p4", "p4n", 70, "2026-11-17T12:00:00Z", hard=14)
    # p8: one send on the last microsecond of 10-25, to see it leave the sliding window.
    records += mails("p8", "p8e", 1, "2026-10-25T23:59:59.999999Z")
    return build_db(tmp_path_factory.mktemp("projection"), records,
                    "p1,One,\np1a,One A,p1\np2,Two,\np3,Three,\np4,Four,\n")


@pytest.fixture
def con(db):
    with warehouse.reader(db) as c:
        yield c


def test_window_edges_and_late_bounces_follow_rates_sql(con):
    p = projection.project_send(con, "p1", 0, 0.0, POLICY, AS_OF)
    w = p.windows[0]
    # 89 + 10 + the send 1 µs after AS_OF - 30 days = 100; "edge" (exactly AS_OF - 30 days),
    # "old" (sent before the window, bounced inside it) and "late" (after AS_OF) are out: 6 hard.
    assert (w.sent, w.hard_bounced) == (100, 6)
    assert w.hard_rate == pytest.approx(0.06)
    assert (p.status, p.deciding_window) == ("approaching", "30d")
    # The same figures as rates.sql and portal_status.sql.
    rates = metrics.rates(con, "portal", AS_OF, 30).filter(pl.col("key") == "p1").row(0, named=True)
    assert (rates["sent"], rates["hard_bounced"]) == (100, 6)
    status = metrics.portal_status(con, POLICY, AS_OF).filter(
        (pl.col("scope") == "alone") & (pl.col("portal_id") == "p1")).row(0, named=True)
    assert (status["sent"], status["hard_bounced"], status["status"]) == (100, 6, "approaching")


def test_a_batch_can_jump_from_approaching_to_exceeded(con):
    p = projection.project_send(con, "p1", 100, 0.2, POLICY, AS_OF)
    # 100 planned at 20 %: round(20) = 20 hard. (6 + 20) / (100 + 100) = 26/200 = 13 % >= 10 %.
    w = p.windows[0]
    assert (p.expected_hard_bounces, w.projected_sent, w.projected_hard_bounced) == (20, 200, 26)
    assert p.projected_hard_rate == pytest.approx(0.13)
    assert (p.status, p.projected_status) == ("approaching", "exceeded")
    assert p.crosses_cutoff
    # Most hard bounces these 100 may bring: (6 + k)/200 < 10 % -> k < 14 -> 13, a share of 13 %.
    assert (p.max_hard_at_n, p.max_share_at_n) == (13, pytest.approx(0.13))
    assert projection.project_send(con, "p1", 100, 0.13, POLICY, AS_OF).projected_status == "approaching"
    assert projection.project_send(con, "p1", 100, 0.14, POLICY, AS_OF).projected_status == "exceeded"


def test_max_safe_sends_uses_the_projection_rounding(con):
    p = projection.project_send(con, "p1", 100, 0.2, POLICY, AS_OF)
    # Unrounded: (6 + 0.2 N) / (100 + N) < 0.10  <=>  0.1 N < 4  <=>  N < 40, so 39.
    # Rounded half up as every projection is: N = 38 brings round(7.6) = 8 hard, 14/138 = 10.1 %
    # (and 39: 8 hard, 14/139 = 10.07 %); N = 37 brings round(7.4) = 7, 13/137 = 9.49 %, and no
    # smaller N reaches 10 % (test_first_unsafe_matches_a_plain_search checks every N).
    assert (p.max_safe_sends, p.max_safe_note) == (37, "limit")
    assert projection.project_send(con, "p1", 37, 0.2, POLICY, AS_OF).projected_status == "approaching"
    assert projection.project_send(con, "p1", 38, 0.2, POLICY, AS_OF).projected_status == "exceeded"
    # At 5 %, below the cutoff, no batch size can tip 6/100 over: (6 + 0.05 N) / (100 + N) < 10 %.
    unbounded = projection.project_send(con, "p1", 100, 0.05, POLICY, AS_OF)
    assert (unbounded.max_safe_sends, unbounded.max_safe_note) == (None, "unbounded")
    zero = projection.project_send(con, "p1", 100, 0.0, POLICY, AS_OF)
    assert (zero.max_safe_sends, zero.projected_hard_rate) == (None, pytest.approx(6 / 200))


def test_per_portal_override_and_already_over(con):
    strict = Policy(windows=(WINDOW_30D,), overrides={"p1": {"cutoff": 0.06}})
    p = projection.project_send(con, "p1", 10, 0.2, strict, AS_OF)
    # 6/100 = 6 % >= p1's own cutoff of 6 %: exceeded already, no safe batch size.
    assert p.windows[0].cutoff == 0.06
    assert (p.status, p.max_safe_sends, p.max_safe_note) == ("exceeded", None, "already_over")
    # 10 planned: (6 + k)/110 < 6 % -> 6 + k < 6.6 -> k = 0: only a clean batch stays under.
    assert (p.max_hard_at_n, p.max_share_at_n) == (0, 0.0)
    # Another portal keeps the default levels.
    assert projection.project_send(con, "p2", 0, 0.0, strict, AS_OF).windows[0].cutoff == 0.10


def test_below_min_sent_is_insufficient_volume_until_the_batch_fills_it(con):
    p = projection.project_send(con, "p2", 50, 0.0, POLICY, AS_OF)
    # 50 sent < min_sent 100: not judged, though 5/50 = 10 % is at the cutoff.
    assert (p.windows[0].sent, p.windows[0].hard_bounced, p.status) == (50, 5, "insufficient_volume")
    # 50 clean sends make it 100 sent, 5 hard = 5 %: judged, and approaching.
    assert (p.windows[0].projected_sent, p.projected_status) == (100, "approaching")
    # The safe limit looks at the rate alone: 10 % is already at the cutoff.
    assert p.max_safe_note == "already_over"
    # 49 clean sends: 99 sent, still under min_sent.
    under = projection.project_send(con, "p2", 49, 0.0, POLICY, AS_OF)
    assert under.projected_status == "insufficient_volume"


def test_with_subportals_rolls_up_the_tree(con):
    p = projection.project_send(con, "p1", 0, 0.0, POLICY, AS_OF, with_subportals=True)
    # p1 100 sent 6 hard + p1a 20 sent 4 hard = 120 sent, 10 hard = 8.33 %.
    assert (p.windows[0].sent, p.windows[0].hard_bounced, p.status) == (120, 10, "approaching")
    # Safe limit at 20 %: (10 + 0.2 N)/(120 + N) < 10 % <=> N < 20 unrounded; rounded, N = 18 brings
    # round(3.6) = 4: 14/138 = 10.1 %; N = 17 brings round(3.4) = 3: 13/137 = 9.5 %. So 17.
    rolled = projection.project_send(con, "p1", 0, 0.2, POLICY, AS_OF, with_subportals=True)
    assert rolled.max_safe_sends == 17


def test_two_windows_the_worst_decides(con):
    week = Window(name="7d", days=7, min_sent=10, warning=0.05, cutoff=0.10,
                  complaint_warning=0.001, complaint_cutoff=0.005)
    p = projection.project_send(con, "p1a", 0, 0.0, Policy(windows=(WINDOW_30D, week)), AS_OF)
    # p1a's 20 sends (4 hard) on 11-12 fall in both windows; 30d: 20 < 100, insufficient;
    # 7d (2026-11-13T12:00Z, AS_OF] does not reach back to 11-12: 0 sent, insufficient too.
    assert [(w.window_name, w.sent, w.status) for w in p.windows] == [
        ("30d", 20, "insufficient_volume"), ("7d", 0, "insufficient_volume")]
    ten_day = Window(name="10d", days=10, min_sent=10, warning=0.05, cutoff=0.10,
                     complaint_warning=0.001, complaint_cutoff=0.005)
    p = projection.project_send(con, "p1a", 0, 0.0, Policy(windows=(WINDOW_30D, ten_day)), AS_OF)
    # 10d (11-10T12:00Z, AS_OF] holds them: 4/20 = 20 %, 20 >= 10 sends: exceeded, and it decides.
    assert (p.status, p.deciding_window, p.hard_rate) == ("exceeded", "10d", pytest.approx(0.2))


def test_address_list_estimates_the_share(con):
    addresses = [
        "bad0@a.example",          # hard-bounced in p1's batch: expected hard
        "not-an-address",          # invalid syntax: expected hard
        "x9@dead.example",         # dead.example: 3 sends, 3 hard: expected hard
        "y9@twice.example",        # twice.example: 2 of 2 hard, but under 3 sends: p1's rate
        " Fresh@New.example ",     # unknown: p1's rate
        "fresh@new.example",       # the same address again: counted once
        "",                        # blank: dropped
        "bounce@simulator.amazonses.com",  # listed, not counted (SES leaves it out of rates)
    ]
    result = projection.project_addresses(con, "p1", addresses, POLICY, AS_OF)
    flags = {r["address"]: r for r in result.addresses.to_dicts()}
    assert list(flags) == ["bad0@a.example", "not-an-address", "x9@dead.example", "y9@twice.example",
                           "fresh@new.example", "bounce@simulator.amazonses.com"]
    assert [flags[a]["reason"] for a in flags] == [
        "known_hard_bounce", "invalid_syntax", "dead_domain", None, None, "simulator"]
    assert (flags["x9@dead.example"]["domain_sent"], flags["y9@twice.example"]["domain_sent"]) == (3, 2)
    # p1's own rate in its window is 6/100; the 5 counted addresses: 3 certain + 2 x 0.06 = 3.12,
    # a share of 3.12/5 = 0.624; round(3.12) = 3 hard: (6 + 3)/(100 + 5) = 9/105 = 8.57 %.
    assert (result.assumed_rate, result.flagged) == (pytest.approx(0.06), 3)
    assert result.expected_hard_share == pytest.approx(0.624)
    p = result.projection
    assert (p.planned_sends, p.expected_hard_bounces, p.windows[0].projected_hard_bounced) == (5, 3, 9)
    assert (p.projected_hard_rate, p.projected_status) == (pytest.approx(9 / 105), "approaching")


def test_forecast_recovers_when_the_bad_batch_leaves_the_window(con):
    f = projection.forecast(con, "p3", POLICY, AS_OF)
    assert f.status == "approaching"  # 10/120 = 8.33 %
    # Baseline: the worst batch b3 (20 sent, 10 hard) left out: 100 routine sends over 30 days,
    # none hard -> 3.33 a day at 0 %.
    assert (f.excluded_batch_id, f.excluded_batch_sent, f.excluded_batch_hard_bounced) == ("b3", 20, 10)
    assert (f.baseline_daily_sends, f.baseline_hard_rate) == (pytest.approx(100 / 30), 0.0)
    # b3 was sent 10-25T12:00Z. The window ending 11-23T23:59:59.999999 starts after
    # 10-24T23:59:59.999999 and still holds it; the one ending 11-24 starts after 10-25T23:59:59.999999:
    # b3 is out, 0 hard: ok from 11-24 (the 100 routine sends keep it at min_sent).
    assert f.recovers_on == date(2026, 11, 24)
    assert f.recovers_on_without_sends == date(2026, 11, 24)
    base = f.series.filter(pl.col("scenario") == "baseline")
    day = {r["day"]: r for r in base.to_dicts()}
    # 11-23: 120 real + 3.33 x 3.5 days (AS_OF to the end of 11-23) = 131.67 sent, 10 hard = 7.6 %.
    assert day[date(2026, 11, 23)]["sent"] == pytest.approx(120 + 100 / 30 * 3.5)
    assert day[date(2026, 11, 23)]["status"] == "approaching"
    # 11-24: 100 real + 3.33 x 4.5 = 115 sent, 0 hard.
    assert day[date(2026, 11, 24)]["sent"] == pytest.approx(100 + 100 / 30 * 4.5)
    assert day[date(2026, 11, 24)]["hard_rate"] == 0.0
    # Without new sends the routine 11-15 sends leave at the end of 12-15: under min_sent again.
    quiet = {r["day"]: r for r in f.series.filter(pl.col("scenario") == "no_new_sends").to_dicts()}
    assert (quiet[date(2026, 12, 14)]["sent"], quiet[date(2026, 12, 15)]["sent"]) == (100, 0)
    # Trend: the last 7 days (11-13T12:00Z, AS_OF] sent 100 clean: the rate only falls.
    assert (f.trend_daily_sends, f.trend_hard_rate, f.exceeds_on) == (pytest.approx(100 / 7), 0.0, None)
    # 91 steps (AS_OF, then 90 day ends) per scenario for the one window.
    assert f.series.height == 3 * 91


def test_the_forecast_window_slides_by_whole_utc_days(con):
    quiet = {r["day"]: r["sent"] for r in projection.forecast(con, "p8", POLICY, AS_OF, horizon_days=5)
             .series.filter(pl.col("scenario") == "no_new_sends").to_dicts()}
    # The window ending 11-23T23:59:59.999999 starts after 10-24T23:59:59.999999: the send at
    # 10-25T23:59:59.999999 is in. The one ending 11-24 starts after exactly that instant: out.
    assert (quiet[date(2026, 11, 23)], quiet[date(2026, 11, 24)]) == (1, 0)


def test_forecast_trend_crosses_the_cutoff(con):
    f = projection.forecast(con, "p4", POLICY, AS_OF)
    # Now 14/170 = 8.24 %. Trend: 70 sends, 14 hard in the last 7 days: 10 a day at 20 %.
    assert (f.status, f.trend_daily_sends, f.trend_hard_rate) == ("approaching", 10.0, pytest.approx(0.2))
    # After t days (no old send leaves before 12-10): (14 + 2t)/(170 + 10t) >= 10 % <=> t >= 3.
    # End of 11-22 is t = 2.5: 19/195 = 9.7 %; end of 11-23 is t = 3.5: 21/205 = 10.2 %.
    trend = {r["day"]: r for r in f.series.filter(pl.col("scenario") == "trend").to_dicts()}
    assert trend[date(2026, 11, 22)]["hard_rate"] == pytest.approx(19 / 195)
    assert trend[date(2026, 11, 23)]["hard_rate"] == pytest.approx(21 / 205)
    assert f.exceeds_on == date(2026, 11, 23)


def test_forecast_of_an_unknown_portal_is_empty_not_an_error(con):
    f = projection.forecast(con, "nobody", POLICY, AS_OF, horizon_days=3)
    assert (f.status, f.recovers_on, f.exceeds_on, f.excluded_batch_id) == (
        "insufficient_volume", AS_OF.date(), None, None)
    assert f.series.height == 3 * 4


def test_bad_arguments_are_refused(con):
    with pytest.raises(ValueError, match="expected_hard_share"):
        projection.project_send(con, "p1", 10, 1.5, POLICY, AS_OF)
    with pytest.raises(ValueError, match="planned_sends"):
        projection.project_send(con, "p1", -1, 0.1, POLICY, AS_OF)


@pytest.mark.parametrize(("sent", "hard", "cutoff", "share"), [
    (100, 6, 0.10, 0.2), (120, 10, 0.10, 0.2), (0, 0, 0.10, 0.3), (91, 9, 0.10, 0.09),
    (1000, 40, 0.05, 0.051), (7, 0, 0.10, 1.0), (100, 9, 0.10, 0.10),
])
def test_first_unsafe_matches_a_plain_search(sent, hard, cutoff, share):
    def unsafe(n):
        return (hard + projection.expected_hard(n, share)) / (sent + n) >= cutoff

    plain = next((n for n in range(1, 200_000) if unsafe(n)), None)
    assert projection._first_unsafe(sent, hard, cutoff, share) == plain
