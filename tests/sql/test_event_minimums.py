"""Judged only on enough evidence: a rate meets its levels only with min_sent sends AND its own minimum
of events (min_hard_bounces, min_complaints). A tiny database built by the real loader; every number
worked out by hand.

One 30-day window at SES's levels: min_sent 100, hard bounces 5 % / 10 %, complaints 0.1 % / 0.5 %.
Everything is sent on 2026-11-20 at 10:00 UTC and judged at the end of that UTC day, the instant
`status --timeline` judges that day at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import metrics, projection
from pipelines.reports.policy import load_policy
from tests import sesdata as ses

SENT = "2026-11-20T10:00:00.000Z"
LATER = "2026-11-20T10:00:05.000Z"
DAY = date(2026, 11, 20)
AS_OF = datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=UTC)

LEVELS = """
[[window]]
name = "30d"
days = 30
min_sent = 100
warning = 0.05
cutoff = 0.10
complaint_warning = 0.001
complaint_cutoff = 0.005
"""


def policy_file(tmp_path: Path, extra: str = "", overrides: str = "") -> Path:
    """LEVELS with `extra` window keys (none: a file from before the event minimums) and `overrides`."""
    path = tmp_path / "policy.toml"
    path.write_text(LEVELS + extra + overrides)
    return path


def complaint(message_id: str, to: str, portal: str) -> dict:
    record = ses.send(message_id, to, SENT, portal=portal)
    record["eventType"] = "Complaint"
    del record["send"]
    record["complaint"] = {"complainedRecipients": [{"emailAddress": to}], "timestamp": LATER,
                           "feedbackId": f"f-{message_id}", "complaintFeedbackType": "abuse"}
    return record


def mails(portal: str, n: int, hard: int = 0, complained: int = 0) -> list[dict]:
    """n one-recipient messages of `portal`; the first `hard` hard-bounce, the next `complained`
    draw a complaint (a complaint is on a delivered message, never on a bounced one)."""
    records = []
    for i in range(n):
        message, to = f"{portal}-{i}", f"{portal}-{i}@a.example"
        records.append(ses.send(message, to, SENT, portal=portal))
        if i < hard:
            records.append(ses.bounce(message, to, SENT, LATER, portal=portal))
        elif i < hard + complained:
            records.append(complaint(message, to, portal))
    return records


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("minimums")
    records = (
        mails("c1", 300, complained=2)  # 2/300 = 0.67 % complaints >= 0.5 % cutoff, on 2 complaints
        + mails("h1", 100, hard=10)  # 10/100 = 10 % hard = the 10 % cutoff, on 10 hard bounces
        + mails("b1", 120, hard=12, complained=3)  # 12/120 = 10 % hard; 3/120 = 2.5 % complaints
        + mails("m1", 200, hard=12, complained=2)  # 12/200 = 6 % hard; 2/200 = 1 % complaints
        + mails("s1", 50, complained=10)  # 50 sends < min_sent 100: not judged at all
    )
    ses.write_object(root / "ses", "2026/11/20/10/a", records)
    directory = root / "dir"
    directory.mkdir()
    (directory / "portals.csv").write_text(
        "portal_id,name,parent_portal_id\nc1,C,\nh1,H,\nb1,B,\nm1,M,\ns1,S,\n")
    (directory / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (directory / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    path = root / "d.duckdb"
    refresh(path, [LocalSource(root / "ses")], directory=directory, quiet=True)
    return path


def statuses(db: Path, policy) -> dict[str, tuple[str, str]]:
    with warehouse.reader(db) as con:
        table = metrics.status_table(con, policy, AS_OF)
    return {r["portal_id"]: (r["status"], r["why"]) for r in table.to_dicts()}


def test_the_fixture_counts(db):
    with warehouse.reader(db) as con:
        rows = {r["key"]: r for r in metrics.rates(con, "portal", AS_OF, 30).to_dicts()}
    assert {p: (r["sent"], r["hard_bounced"], r["complaints"]) for p, r in rows.items()} == {
        "c1": (300, 0, 2), "h1": (100, 10, 0), "b1": (120, 12, 3), "m1": (200, 12, 2), "s1": (50, 0, 10)}


def test_a_policy_file_without_the_minimums_takes_the_default_files(tmp_path):
    default = load_policy().windows[0]
    old = load_policy(policy_file(tmp_path)).windows[0]
    assert (old.min_hard_bounces, old.min_complaints) == (default.min_hard_bounces, default.min_complaints)
    assert (old.min_hard_bounces, old.min_complaints) == (5, 5)
    assert old.min_sent == 100 and old.cutoff == 0.10  # the rest as written


def test_complaints_are_judged_only_from_min_complaints(db, tmp_path):
    # c1: 300 sends >= 100; 2 complaints / 300 = 0.67 % >= the 0.5 % cutoff.
    five = statuses(db, load_policy(policy_file(tmp_path, "min_complaints = 5\n")))
    assert five["c1"] == ("ok", "too few complaints to judge (2 < 5)")  # 2 < 5: not judged
    one = statuses(db, load_policy(policy_file(tmp_path, "min_complaints = 1\n")))
    assert one["c1"] == ("exceeded", "complaint rate 0.67% >= cutoff 0.5%")  # 2 >= 1: judged


def test_hard_bounces_are_judged_only_from_min_hard_bounces(db, tmp_path):
    # h1: 100 sends = min_sent; 10 hard / 100 = 10 % >= the 10 % cutoff. A floor of 20 hard bounces
    # (above cutoff x min_sent = 10) hides a real 10 % at the minimum volume: the default's 5 does not.
    twenty = statuses(db, load_policy(policy_file(tmp_path, "min_hard_bounces = 20\n")))
    assert twenty["h1"] == ("ok", "too few hard bounces to judge (10 < 20)")
    default = statuses(db, load_policy(policy_file(tmp_path)))  # 5, from the default file
    assert default["h1"] == ("exceeded", "hard-bounce rate 10.0% >= cutoff 10.0%")


def test_enough_sends_but_too_few_events_of_both_kinds_is_ok(db, tmp_path):
    # b1: 120 sends >= 100, so judged; 12 hard (10 %) < 20 and 3 complaints (2.5 %) < 5: neither
    # rate may flag it, so ok (not insufficient_volume); the hard bounces are named first.
    strict = statuses(db, load_policy(policy_file(tmp_path, "min_hard_bounces = 20\nmin_complaints = 5\n")))
    assert strict["b1"] == ("ok", "too few hard bounces to judge (12 < 20)")
    # s1: 50 sends < 100: insufficient_volume, whatever its 10 complaints.
    assert strict["s1"] == ("insufficient_volume", "too few sends to judge")


def test_a_metric_below_its_minimum_leaves_the_other_to_decide(db, tmp_path):
    # m1: 12 hard / 200 = 6 % >= 5 % warning on 12 >= 5 hard bounces: approaching. Its complaints,
    # 2 / 200 = 1 % >= the 0.5 % cutoff, are 2 < 5: they neither make it exceeded nor give the reason.
    default = statuses(db, load_policy(policy_file(tmp_path)))
    assert default["m1"] == ("approaching", "hard-bounce rate 6.0% >= warning 5.0%")
    # b1 under the default 5 / 5: 12 hard >= 5 at 10 %: exceeded; its 3 complaints are not judged.
    assert default["b1"] == ("exceeded", "hard-bounce rate 10.0% >= cutoff 10.0%")
    one = statuses(db, load_policy(policy_file(tmp_path, "min_complaints = 1\n")))
    assert one["m1"] == ("exceeded", "complaint rate 1.0% >= cutoff 0.5%")


def test_a_portal_override_sets_its_own_minimum(tmp_path, db):
    # Only c1 judges complaints from 1: it alone turns exceeded (2 >= 1 at 0.67 %).
    policy = load_policy(policy_file(tmp_path, overrides="[portal.c1]\nmin_complaints = 1\n"))
    assert policy.overrides == {"c1": {"min_complaints": 1}}
    got = statuses(db, policy)
    assert got["c1"][0] == "exceeded"
    assert got["m1"][0] == "approaching"  # m1 keeps the default 5: its 2 complaints are not judged


@pytest.mark.parametrize("bad", ["min_complaints = -1\n", "min_hard_bounces = 2.5\n",
                                 "min_complaints = true\n"])
def test_a_minimum_must_be_a_whole_number(tmp_path, bad):
    with pytest.raises(ValueError, match="whole number"):
        load_policy(policy_file(tmp_path, bad))
    with pytest.raises(ValueError, match="whole number"):
        load_policy(policy_file(tmp_path, overrides="[portal.c1]\n" + bad))


@pytest.mark.parametrize("extra", ["", "min_hard_bounces = 20\nmin_complaints = 5\n",
                                   "min_hard_bounces = 1\nmin_complaints = 1\n"])
def test_the_timeline_and_the_projections_agree_with_portal_status(db, tmp_path, extra):
    policy = load_policy(policy_file(tmp_path, extra))
    now = statuses(db, policy)
    with warehouse.reader(db) as con:
        timeline = projection.status_timeline(con, policy, DAY, DAY)
        replayed = {r["portal_id"]: r["status"] for r in timeline.to_dicts()}
        # A planned send of nothing: the projection's "now" and "projected" are today's status.
        projected = {p: projection.project_send(con, p, 0, 0.0, policy, AS_OF) for p in now}
        # The forecast judges hard bounces only: h1 (no complaints) has today's status at step 0.
        outlook = projection.forecast(con, "h1", policy, AS_OF, horizon_days=1)
    assert replayed == {p: s for p, (s, _) in now.items()}
    assert {p: (x.status, x.projected_status) for p, x in projected.items()} == {
        p: (s, s) for p, (s, _) in now.items()}
    assert outlook.status == now["h1"][0]


def test_a_projection_that_brings_enough_hard_bounces_is_judged(db, tmp_path):
    # h1 with min_hard_bounces 20: 10 hard of 100 is not judged (ok). 100 more sends at 10 % bring
    # round(10.0) = 10 hard: 20 of 200 = 10 % on 20 >= 20 hard bounces: exceeded.
    policy = load_policy(policy_file(tmp_path, "min_hard_bounces = 20\n"))
    with warehouse.reader(db) as con:
        plan = projection.project_send(con, "h1", 100, 0.10, policy, AS_OF)
    assert (plan.status, plan.projected_status) == ("ok", "exceeded")
    assert (plan.windows[0].projected_sent, plan.windows[0].projected_hard_bounced) == (200, 20)
