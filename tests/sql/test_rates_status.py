"""Rates and status on a tiny database built by the real loader; every number worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import metrics
from pipelines.reports.policy import load_policy
from pipelines.warehouse import reads
from tests import sesdata as ses

AS_OF = datetime(2026, 11, 30, tzinfo=UTC)  # 30-day window: (2026-10-31T00:00Z, 2026-11-30T00:00Z]
IN = "2026-11-20T10:00:00.000Z"
LATER = "2026-11-20T10:00:05.000Z"

# The fixture's portals have a handful of sends: one hard bounce or complaint is enough to judge
# (the default file's minimums of 5 would leave every rate here unjudged).
POLICY = """
[[window]]
name = "30d"
days = 30
min_sent = 3
min_hard_bounces = 1
min_complaints = 1
warning = 0.05
cutoff = 0.10
complaint_warning = 0.5
complaint_cutoff = 0.6
"""


def write_directory(folder: Path, disabled: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portals.csv").write_text(
        "portal_id,name,parent_portal_id,email_enabled\n"
        "p1,One,,true\np1a,One A,p1,true\np1b,One B,p1a,true\np2,Two,,true\np3,Three,,true\n"
        f"p4,Four,,{'false' if disabled else 'true'}\n"
    )
    (folder / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (folder / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    return folder


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rates")
    src = root / "ses"
    recs = []
    # p1: m1..m10 sent inside the window.
    recs += [ses.send(f"m{i}", f"a{i}@x.example", IN, portal="p1") for i in range(1, 11)]
    recs += [
        ses.bounce("m1", "a1@x.example", IN, LATER, portal="p1"),  # hard
        ses.bounce("m2", "a2@x.example", IN, LATER, portal="p1", subtype="Suppressed"),  # hard (global list)
        ses.bounce("m3", "a3@x.example", IN, LATER, portal="p1", subtype="OnAccountSuppressionList"),
        ses.bounce("m4", "a4@x.example", IN, LATER, portal="p1", btype="Transient", subtype="MailboxFull",
                   status="4.2.2", diagnostic="smtp; 452 4.2.2 mailbox full"),  # soft
    ]
    complaint = ses.send("m5", "a5@x.example", IN, portal="p1")
    complaint["eventType"] = "Complaint"
    del complaint["send"]
    complaint["complaint"] = {"complainedRecipients": [{"emailAddress": "a5@x.example"}], "timestamp": LATER,
                              "feedbackId": "c5", "complaintFeedbackType": "abuse"}
    recs.append(complaint)
    # Window edges: a send exactly at the start is outside; a second later is inside.
    recs += [ses.send("m11", "e1@x.example", "2026-10-31T00:00:00.000Z", portal="p1"),
             ses.bounce("m11", "e1@x.example", "2026-10-31T00:00:00.000Z", LATER, portal="p1"),
             ses.send("m12", "e2@x.example", "2026-10-31T00:00:01.000Z", portal="p1")]
    # Sent before the window, bounced inside it: attributed to the send, so outside.
    recs += [ses.send("m13", "old@x.example", "2026-10-20T00:00:00Z", portal="p1"),
             ses.bounce("m13", "old@x.example", "2026-10-20T00:00:00Z", "2026-11-05T00:00:00Z", portal="p1")]
    # Mailbox simulator: never counted.
    recs += [ses.send("m14", "bounce@simulator.amazonses.com", IN, portal="p1"),
             ses.bounce("m14", "bounce@simulator.amazonses.com", IN, LATER, portal="p1")]
    # p1a (child of p1): 5 sends, 1 hard. p1b (child of p1a): 5 sends, none bounced.
    recs += [ses.send(f"m2{i}", f"b{i}@y.example", IN, portal="p1a") for i in range(1, 6)]
    recs += [ses.bounce("m21", "b1@y.example", IN, LATER, portal="p1a")]
    recs += [ses.send(f"m3{i}", f"c{i}@y.example", IN, portal="p1b") for i in range(1, 6)]
    # p2: 20 sends, 1 hard. p3: 2 sends.
    recs += [ses.send(f"m4{i:02d}", f"d{i}@z.example", IN, portal="p2") for i in range(20)]
    recs += [ses.bounce("m400", "d0@z.example", IN, LATER, portal="p2")]
    recs += [ses.send(f"m5{i}", f"f{i}@z.example", IN, portal="p3") for i in range(2)]
    ses.write_object(src, "2026/11/20/10/a", recs)
    # Firehose redelivers the hard bounce of m1 in a later object.
    ses.write_object(src, "2026/11/20/11/b", [ses.bounce("m1", "a1@x.example", IN, LATER, portal="p1")])
    path = root / "rates.duckdb"
    refresh(path, [LocalSource(src)], directory=write_directory(root / "dir", disabled="p4"), quiet=True)
    return path


def by_key(frame) -> dict:
    return {r["key"]: r for r in frame.to_dicts()}


def test_portal_rates_follow_ses_rules(db):
    with warehouse.reader(db) as con:
        rows = by_key(metrics.rates(con, "portal", AS_OF, 30))
    p1 = rows["p1"]
    # p1: m1..m10 minus m3 (account suppression list, never attempted) = 9, plus m12 = 10 sent;
    # m11 (at the window start), m13 (sent before it) and m14 (simulator) are out.
    assert p1["sent"] == 10
    # Hard: m1 (counted once though delivered twice) and m2 (global Suppressed) = 2 -> 2/10.
    assert p1["hard_bounced"] == 2 and p1["hard_rate"] == pytest.approx(0.2)
    assert p1["soft_bounced"] == 1 and p1["complaints"] == 1  # m4; m5
    assert p1["suppressed"] == 2  # m2 and m3
    assert rows["p2"]["hard_rate"] == pytest.approx(1 / 20)


def test_rollup_counts_sub_portals_two_levels_deep(db):
    with warehouse.reader(db) as con:
        rows = by_key(metrics.rates(con, "rollup", AS_OF, 30))
    # p1 + p1a + p1b: 10 + 5 + 5 = 20 sent; 2 + 1 + 0 = 3 hard.
    assert (rows["p1"]["sent"], rows["p1"]["hard_bounced"]) == (20, 3)
    assert (rows["p1a"]["sent"], rows["p1a"]["hard_bounced"]) == (10, 1)
    assert (rows["p1b"]["sent"], rows["p1b"]["hard_bounced"]) == (5, 0)


def test_account_rate_and_shares(db):
    with warehouse.reader(db) as con:
        account = metrics.rates(con, "account", AS_OF, 30).to_dicts()[0]
        portals = by_key(metrics.rates(con, "portal", AS_OF, 30))
    # 10 + 5 + 5 + 20 + 2 = 42 sent; 2 + 1 + 0 + 1 + 0 = 4 hard.
    assert (account["sent"], account["hard_bounced"]) == (42, 4)
    assert portals["p1"]["share_of_hard_bounces"] == pytest.approx(2 / 4)


def test_the_account_is_judged_against_the_policys_account_levels(db, tmp_path):
    # 4 hard of 42 sent = 9.5 %: at or over a 5 % warning, under a 10 % cutoff, over a 9 % one.
    # 1 complaint of 42 = 2.4 %: over a 0.5 % cutoff; at or over a 2 % warning, under a 5 % cutoff.
    policy_file = tmp_path / "p.toml"
    with warehouse.reader(db) as con:
        policy_file.write_text(POLICY + "[account]\nwarning = 0.05\ncutoff = 0.10\n"
                               "complaint_warning = 0.001\ncomplaint_cutoff = 0.005\n")
        ses_levels = metrics.account_standing(con, load_policy(policy_file), AS_OF, 30)
        policy_file.write_text(POLICY + "[account]\nwarning = 0.05\ncutoff = 0.09\n"
                               "complaint_warning = 0.02\ncomplaint_cutoff = 0.05\n")
        other = metrics.account_standing(con, load_policy(policy_file), AS_OF, 30)
    assert (ses_levels["hard_status"], ses_levels["complaint_status"]) == ("approaching", "exceeded")
    assert (other["hard_status"], other["complaint_status"]) == ("exceeded", "approaching")
    # Judged together, the worse of the two decides: exceeded in both cases.
    assert (ses_levels["status"], other["status"]) == ("exceeded", "exceeded")
    assert other["levels"].cutoff == 0.09


def test_a_hard_rate_against_levels_whatever_the_volume(db):
    # 4 of 42 = 9.5 %: approaching against 5 % / 10 %, exceeded against 5 % / 9 %; 1 of 3 is judged
    # too (no minimum of sends or events here); no sends, no verdict.
    with warehouse.reader(db) as con:
        got = [metrics.hard_rate_status(con, sent, hard, 0.05, cutoff)
               for sent, hard, cutoff in ((42, 4, 0.10), (42, 4, 0.09), (3, 1, 0.10), (0, 0, 0.10))]
    assert got == ["approaching", "exceeded", "exceeded", None]


def test_a_policy_without_account_levels_takes_the_default_files(tmp_path):
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(POLICY)
    assert load_policy(policy_file).account == load_policy().account


def test_status_by_policy(db, tmp_path):
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(POLICY)
    with warehouse.reader(db) as con:
        table = metrics.status_table(con, load_policy(policy_file), AS_OF)
    status = {r["portal_id"]: (r["status"], r["rollup_status"]) for r in table.to_dicts()}
    assert status["p1"] == ("exceeded", "exceeded")  # 20 % alone, 15 % rolled up
    assert status["p1a"] == ("exceeded", "exceeded")  # 1/5 = 20 % alone; with p1b 1/10 = 10 % >= cutoff
    assert status["p1b"] == ("ok", "ok")
    assert status["p2"] == ("approaching", "approaching")  # 5 % >= warning 5 %
    assert status["p3"] == ("insufficient_volume", "insufficient_volume")  # 2 sends < min_sent 3
    assert status["p4"] == ("disabled", "disabled")


def test_replay_as_of_an_earlier_time_and_with_a_shorter_window(db, tmp_path):
    policy_file = tmp_path / "p.toml"
    policy_file.write_text(POLICY)
    policy = load_policy(policy_file)
    nov1 = datetime(2026, 11, 1, tzinfo=UTC)
    with warehouse.reader(db) as con:
        month = {r["portal_id"]: r for r in metrics.status_table(con, policy, nov1).to_dicts()}
        day = {r["portal_id"]: r for r in metrics.status_table(con, policy, nov1, window_days=1).to_dicts()}
    # (2026-10-02, 2026-11-01]: m11, m12 and m13 were sent; m11 and m13 hard-bounced: 2/3.
    assert (month["p1"]["sent"], month["p1"]["hard_bounced"], month["p1"]["status"]) == (3, 2, "exceeded")
    # (2026-10-31T00:00, 2026-11-01T00:00]: only m12 (m11 sat exactly on the edge): 1 send < min_sent 3.
    assert (day["p1"]["sent"], day["p1"]["status"]) == (1, "insufficient_volume")


def test_a_read_at_the_newest_event_under_the_refreshs_policy_is_the_refreshs_judgement(db, tmp_path):
    # The fixture's refresh judged every portal under the default policy at the newest event.
    with warehouse.reader(db) as con:
        as_of = metrics.default_as_of(con)
        recorded = reads.run(con, "status_judged", as_of=as_of,
                             windows_key=metrics.windows_key(load_policy().windows_frame()))
        again = metrics.portal_status(con, judge_again=True)
        served = metrics.portal_status(con)
        policy_file = tmp_path / "p.toml"
        policy_file.write_text(POLICY)
        other = reads.run(con, "status_judged", as_of=as_of,
                          windows_key=metrics.windows_key(load_policy(policy_file).windows_frame()))
        earlier = reads.run(con, "status_judged", as_of=AS_OF,
                            windows_key=metrics.windows_key(load_policy().windows_frame()))
    # Six portals, alone and rolled up.
    assert recorded.height == 12
    assert recorded.equals(again) and served.equals(again)
    # Another policy, or another moment, was never recorded: those reads are judged again.
    assert other.height == 0 and earlier.height == 0


def test_each_portals_daily_trend_counts_whole_days_and_both_partial_edges(db):
    with warehouse.reader(db) as con:
        month = {r["portal_id"]: r["trend"] for r in reads.run(
            con, "app_portal_trends", as_of=AS_OF, window_days=30).to_dicts()}
        # as_of exactly at the sends of 2026-11-20 10:00, and a second before: that day is the window's
        # last, partial edge.
        at_send, before = ({r["portal_id"]: r["trend"] for r in reads.run(
            con, "app_portal_trends", as_of=as_of, window_days=30).to_dicts()}
            for as_of in (datetime(2026, 11, 20, 10, tzinfo=UTC),
                          datetime(2026, 11, 20, 9, 59, 59, tzinfo=UTC)))
    # (2026-10-31T00:00, 2026-11-30T00:00]: the first day holds m12 (00:00:01, delivered: 0/1) but not
    # m11 (exactly at the start, hard-bounced); 2026-11-20, a whole day: m1..m10 less m3 = 9 sent, 2 hard.
    assert month["p1"] == [0.0, pytest.approx(2 / 9)]
    assert month["p1a"] == [pytest.approx(1 / 5)] and month["p2"] == [pytest.approx(1 / 20)]
    assert month["p1b"] == [0.0]
    # (2026-10-21T10:00, 2026-11-20T10:00]: 2026-10-31 is a whole day now (m11 and m12: 1/2), and the
    # sends at 10:00 count; a second earlier they do not.
    assert at_send["p1"] == [0.5, pytest.approx(2 / 9)]
    assert before["p1"] == [0.5] and "p2" not in before
