"""The decision feed for the LMS (`python -m pipelines actions`): which decisions, their evidence, stable
ids, a cursor that lists each decision once, and only the kinds the policy file defines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines import cli, warehouse
from pipelines.ingest.refresh import rebuild, refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import actions
from pipelines.reports.policy import DEFAULT_POLICY, load_policy
from tests import sesdata as ses

# A window judged from 10 sends and 1 hard bounce, SES's 5 % / 10 % levels: a portal's status moves
# with a handful of records. Every kind on.
SMALL_WINDOW = """
[[window]]
name = "30d"
days = 30
min_sent = 10
min_hard_bounces = 1
min_complaints = 1
warning = 0.05
cutoff = 0.10
complaint_warning = 0.5
complaint_cutoff = 0.6
"""
ALL_ACTIONS = """
[actions]
deactivate_learner_after_hard_bounces = 1
suppress_address = true
portal_over_cutoff = true
portal_recovered = true
"""


def at(day: int, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T10:{minute:02d}:00.000Z"


def hard(mid: str, to: str, day: int, portal: str = "p1") -> list[dict]:
    return [ses.send(mid, to, at(day), portal), ses.bounce(mid, to, at(day), at(day, 5), portal)]


def soft(mid: str, to: str, day: int, portal: str = "p1") -> list[dict]:
    return [ses.send(mid, to, at(day), portal),
            ses.bounce(mid, to, at(day), at(day, 5), portal, btype="Transient", subtype="MailboxFull",
                       status="4.2.2", diagnostic="smtp; 452 4.2.2 mailbox full")]


def soft_run(to: str, days: list[int], portal: str = "p1") -> list[dict]:
    """One soft-bounced message per day, ids from the address and the day."""
    return [r for day in days for r in soft(f"{to.split('@')[0]}-{day}", to, day, portal)]


def delivered(mid: str, to: str, day: int, portal: str = "p1") -> list[dict]:
    return [ses.send(mid, to, at(day), portal), ses.delivery(mid, to, at(day), at(day, 1), portal)]


class World:
    """A database loaded by the real loader, one refresh per `load`, and the feed read back."""

    def __init__(self, root: Path, policy_text: str | None = None):
        self.src, self.db, self.dir = root / "ses", root / "d.duckdb", root / "dir"
        self.dir.mkdir(parents=True)
        (self.dir / "portals.csv").write_text("portal_id,name,parent_portal_id,email_enabled\n"
                                              "p1,One,,true\np2,Two,,true\n")
        (self.dir / "users.csv").write_text(
            "user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
            "u1,p1,Ann Hard,ann@one.example,active,,2026-01-01T00:00:00Z\n"
            "u2,p1,Bo Gone,bo@one.example,deactivated,,2026-01-01T00:00:00Z\n"
            "u3,p1,Cy Soft,cy@one.example,active,,2026-01-01T00:00:00Z\n")
        (self.dir / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
        self.policy_file = root / "policy.toml"
        self.policy_file.write_text(policy_text or DEFAULT_POLICY.read_text())
        self.loads = 0

    @property
    def policy(self):
        return load_policy(self.policy_file)

    def load(self, records: list[dict]) -> None:
        self.loads += 1
        ses.write_object(self.src, f"2026/11/30/{self.loads:02d}/obj", records)
        refresh(self.db, [LocalSource(self.src)], directory=self.dir if self.loads == 1 else None,
                quiet=True, policy=self.policy)

    def feed(self, since: str | None = None, policy=None) -> dict:
        with warehouse.reader(self.db) as con:
            return actions.actions(con, policy or self.policy, since)


def of_kind(feed: dict, kind: str) -> dict[str, dict]:
    return {a["address"] or a["portal_id"]: a for a in feed["actions"] if a["kind"] == kind}


def test_a_hard_bounced_learner_is_deactivated_once_with_its_evidence(tmp_path):
    w = World(tmp_path)
    w.load([
        # ann@ (u1, active) hard-bounces twice: one decision, triggered by the first bounce (day 2).
        *hard("m1", "ann@one.example", 2), *hard("m2", "ann@one.example", 3),
        # bo@ (u2) is already deactivated in the directory; dee@ is in no directory: nothing to deactivate.
        *hard("m3", "bo@one.example", 2), *hard("m4", "dee@one.example", 2),
    ])
    deactivate = of_kind(w.feed(), "deactivate_learner")
    assert list(deactivate) == ["ann@one.example"]
    ann = deactivate["ann@one.example"]
    assert (ann["portal_id"], ann["user_id"]) == ("p1", "u1")
    ev = ann["evidence"]
    assert (ev["bounce_type"], ev["bounce_class"], ev["reason"], ev["status_code"]) == (
        "Permanent", "hard", "userunknown", "5.1.1")
    assert ev["diagnostic"] == "smtp; 550 5.1.1 user unknown"
    assert (ev["bounced_at"], ev["message_id"], ev["dead_bounces"]) == ("2026-11-02T10:05:00Z", "m1", 2)
    assert ev["learner_name"] == "Ann Hard"


def test_suppress_after_three_soft_bounces_in_a_row_and_a_delivery_resets_the_run(tmp_path):
    w = World(tmp_path)
    w.load([
        # cy@: 3 soft bounces (days 2, 3, 4) = the default soft_bounces_before_suppress: suppress, on the 3rd.
        *soft("c1", "cy@one.example", 2), *soft("c2", "cy@one.example", 3), *soft("c3", "cy@one.example", 4),
        # two@: only 2.
        *soft("t1", "two@one.example", 2), *soft("t2", "two@one.example", 3),
        # reset@: soft, soft, delivered (day 4), soft: the run since the delivery is 1.
        *soft("r1", "reset@one.example", 2), *soft("r2", "reset@one.example", 3),
        *delivered("r3", "reset@one.example", 4), *soft("r4", "reset@one.example", 5),
    ])
    suppress = of_kind(w.feed(), "suppress_address")
    assert list(suppress) == ["cy@one.example"]
    ev = suppress["cy@one.example"]["evidence"]
    assert (ev["consecutive_soft_bounces"], ev["soft_bounces_before_suppress"]) == (3, 3)
    assert (ev["bounced_at"], ev["message_id"], ev["reason"]) == ("2026-11-04T10:05:00Z", "c3", "mailboxfull")
    assert not of_kind(w.feed(), "deactivate_learner")  # soft bounces never deactivate

    # reset@ bounces twice more (days 6, 7): 3 since its delivery, a decision of this new run.
    cursor = w.feed()["next_cursor"]
    w.load([*soft("r5", "reset@one.example", 6), *soft("r6", "reset@one.example", 7)])
    new = w.feed(cursor)
    assert [(a["kind"], a["address"]) for a in new["actions"]] == [("suppress_address", "reset@one.example")]
    assert new["actions"][0]["evidence"]["message_id"] == "r6"


def test_the_address_actions_are_the_exports_recommended_actions(tmp_path):
    from pipelines.reports import export

    w = World(tmp_path)
    w.load([
        *hard("m1", "ann@one.example", 2),
        # cy@ (u3): already on the account's suppression list (SES never tried it), no complaint or
        # refusal on record: the export says deactivate, and so does the feed, triggered by that bounce.
        ses.send("m2", "cy@one.example", at(3)),
        ses.bounce("m2", "cy@one.example", at(3), at(3, 5), btype="Permanent",
                   subtype="OnAccountSuppressionList", status="5.1.1",
                   diagnostic="Amazon SES did not send the message to this address"),
        *soft_run("sam@one.example", [2, 3, 4, 5]), *soft_run("two@one.example", [2, 3]),
        # A typo domain is to be fixed, not deactivated (the export's first rule).
        *hard("m3", "typo@gmial.com", 2),
    ])
    with warehouse.reader(w.db) as con:
        recommended = export.bounced_addresses(con, ["p1"]).to_dicts()
    expected = {(r["email"], {"deactivate": "deactivate_learner", "suppress": "suppress_address"}
                 [r["recommended_action"]]) for r in recommended
                if r["recommended_action"] == "suppress"
                or (r["recommended_action"] == "deactivate" and r["user_status"] == "active")}
    assert expected == {("ann@one.example", "deactivate_learner"), ("cy@one.example", "deactivate_learner"),
                        ("sam@one.example", "suppress_address")}
    feed = w.feed()
    assert {(a["address"], a["kind"]) for a in feed["actions"]} == expected
    cy = of_kind(feed, "deactivate_learner")["cy@one.example"]["evidence"]
    assert (cy["bounce_subtype"], cy["message_id"]) == ("OnAccountSuppressionList", "m2")
    # sam@ bounced 4 times in a row: the 3rd (day 4) made it a decision.
    sam = of_kind(feed, "suppress_address")["sam@one.example"]["evidence"]
    assert (sam["bounced_at"], sam["consecutive_soft_bounces"]) == ("2026-11-04T10:05:00Z", 4)


def test_a_portal_over_the_cutoff_and_back_under_the_warning_level(tmp_path):
    w = World(tmp_path, SMALL_WINDOW + ALL_ACTIONS)
    # 20 sends to p2, no bounce: ok, and a first ok is no news (no alert). p1: 5 sends, too few to judge.
    w.load([*[ses.send(f"p{i}", f"x{i}@two.example", at(2), "p2") for i in range(20)],
            *[ses.send(f"o{i}", f"o{i}@one.example", at(2), "p1") for i in range(5)]])
    assert not w.feed()["actions"]
    # 3 of those 20 hard-bounce: 15 % >= the 10 % cutoff: exceeded. p1 reaches 10 sends: from
    # insufficient_volume to ok, an alert but no recovery (it was never over a level).
    w.load([*[ses.bounce(f"p{i}", f"x{i}@two.example", at(2), at(2, 5), "p2") for i in range(3)],
            *[ses.send(f"o{i}", f"o{i}@one.example", at(2), "p1") for i in range(5, 10)]])
    with warehouse.reader(w.db) as con:
        assert con.execute("select from_status, to_status from _alerts where portal_id = 'p1' "
                           "and scope = 'alone'").fetchall() == [("insufficient_volume", "ok")]
    over = w.feed()
    assert [(a["kind"], a["portal_id"]) for a in over["actions"]] == [("portal_over_cutoff", "p2")]
    ev = over["actions"][0]["evidence"]
    assert (ev["from_status"], ev["to_status"], ev["sent"], ev["hard_rate"]) == ("ok", "exceeded", 20, 0.15)
    assert (ev["window"], ev["as_of"], ev["portal_name"]) == ("30d", "2026-11-02T10:05:00Z", "Two")
    assert over["actions"][0]["address"] is None
    # 60 more sends, delivered: 3 of 80 = 3.75 % < the 5 % warning: ok again, a candidate to restore.
    w.load([r for i in range(20, 80) for r in delivered(f"p{i}", f"x{i}@two.example", 3, "p2")])
    back = w.feed(over["next_cursor"])
    assert [(a["kind"], a["portal_id"]) for a in back["actions"]] == [("portal_recovered", "p2")]
    ev = back["actions"][0]["evidence"]
    assert (ev["from_status"], ev["to_status"], ev["sent"], ev["hard_rate"]) == ("exceeded", "ok", 80, 0.0375)
    # From the start: both, in the order they happened.
    assert [a["kind"] for a in w.feed()["actions"]] == ["portal_over_cutoff", "portal_recovered"]


def test_a_kind_the_policy_turns_off_or_leaves_out_is_never_listed(tmp_path):
    w = World(tmp_path)
    w.load([*hard("m1", "ann@one.example", 2), *soft_run("cy@one.example", [2, 3, 4])])
    assert {a["kind"] for a in w.feed()["actions"]} == {"deactivate_learner", "suppress_address"}
    off = tmp_path / "off.toml"
    off.write_text(DEFAULT_POLICY.read_text().replace("suppress_address = true", "suppress_address = false"))
    assert {a["kind"] for a in w.feed(policy=load_policy(off))["actions"]} == {"deactivate_learner"}
    off.write_text(DEFAULT_POLICY.read_text().replace("deactivate_learner_after_hard_bounces = 1",
                                                      "deactivate_learner_after_hard_bounces = 0"))
    assert {a["kind"] for a in w.feed(policy=load_policy(off))["actions"]} == {"suppress_address"}
    # A policy file without [actions] defines none.
    bare = tmp_path / "bare.toml"
    bare.write_text(SMALL_WINDOW)
    assert load_policy(bare).actions == ()
    assert w.feed(policy=load_policy(bare))["actions"] == []


@pytest.mark.parametrize("actions_text, message", [
    ("[actions]\nsuppress_adress = true\n", "unknown keys ['suppress_adress']"),
    ("[actions]\nsuppress_address = 1\n", "suppress_address must be true or false"),
    ("[actions]\ndeactivate_learner_after_hard_bounces = 2\n", "must be 1 (deactivate after one hard"),
    ("[actions]\ndeactivate_learner_after_hard_bounces = true\n", "or 0 (off)"),
])
def test_a_wrong_actions_section_is_refused(tmp_path, actions_text, message):
    policy = tmp_path / "p.toml"
    policy.write_text(SMALL_WINDOW + actions_text)
    with pytest.raises(ValueError, match="policy .*" + re.escape(message)):
        load_policy(policy)


def test_the_cursor_lists_each_decision_once_and_ids_are_stable(tmp_path):
    w = World(tmp_path)
    w.load([*hard("m1", "ann@one.example", 2)])
    first = w.feed()
    assert [a["address"] for a in first["actions"]] == ["ann@one.example"]
    assert w.feed()["actions"] == first["actions"]  # the same content, the same ids
    # Nothing new since: nothing listed, and the same cursor again.
    again = w.feed(first["next_cursor"])
    assert again == {"actions": [], "next_cursor": first["next_cursor"]}
    # A new load: cy@'s third soft bounce, and ann@ bouncing once more (no new decision).
    w.load([*soft_run("cy@one.example", [2, 3, 4]), *hard("m2", "ann@one.example", 5)])
    new = w.feed(first["next_cursor"])
    assert [(a["kind"], a["address"]) for a in new["actions"]] == [("suppress_address", "cy@one.example")]
    assert new["next_cursor"] != first["next_cursor"]
    assert w.feed(new["next_cursor"])["actions"] == []
    # From the start, ann@'s action has the id it had before the new load.
    everything = {a["address"]: a["id"] for a in w.feed()["actions"]}
    assert everything["ann@one.example"] == first["actions"][0]["id"]
    assert len(set(everything.values())) == len(everything) == 2


def test_after_a_rebuild_the_cursor_still_holds_and_repeats_keep_their_ids(tmp_path):
    w = World(tmp_path, SMALL_WINDOW + ALL_ACTIONS)
    w.load([*hard("m1", "ann@one.example", 2), *[ses.send(f"p{i}", f"x{i}@two.example", at(2), "p2")
                                                 for i in range(10)]])
    w.load([ses.bounce("p0", "x0@two.example", at(2), at(2, 5), "p2")])  # p2: 1 of 10 = 10 %: exceeded
    before = w.feed()
    assert sorted(a["kind"] for a in before["actions"]) == ["deactivate_learner", "portal_over_cutoff"]
    rebuild(w.db, quiet=True)  # every fact re-committed in one load, numbered 1 again
    after = w.feed(before["next_cursor"])
    # The address decision comes again (its bounce was re-committed) with its id; the alert, carried
    # over, does not; and a load after the rebuild is still seen as new.
    assert [(a["kind"], a["id"]) for a in after["actions"]] == [
        (a["kind"], a["id"]) for a in before["actions"] if a["kind"] == "deactivate_learner"]
    w.load(soft_run("cy@one.example", [3, 4, 5]))
    assert [a["kind"] for a in w.feed(after["next_cursor"])["actions"]] == ["suppress_address"]


def test_the_command_prints_lines_or_json_and_refuses_a_bad_cursor(tmp_path, capsys):
    w = World(tmp_path)
    w.load([*hard("m1", "ann@one.example", 2)])
    assert cli.main(["actions", "--db", str(w.db), "--json"]) == cli.EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"actions", "next_cursor"}
    [action] = doc["actions"]
    assert {"id", "kind", "portal_id", "address", "evidence"} <= set(action)
    assert cli.main(["actions", "--db", str(w.db)]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"next_cursor={doc['next_cursor']}"
    assert len(lines) == 2 and lines[0].startswith(f"deactivate_learner id={action['id']} portal_id=p1 "
                                                   "address=ann@one.example")
    assert cli.main(["actions", "--db", str(w.db), "--since", doc["next_cursor"]]) == cli.EXIT_OK
    assert capsys.readouterr().out.splitlines() == [f"next_cursor={doc['next_cursor']}"]
    for bad in ("yesterday", "c1-", "c2-123", "12345"):
        assert cli.main(["actions", "--db", str(w.db), "--since", bad]) == cli.EXIT_USAGE
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("error: --since: cursor ") and len(err.splitlines()) == 1
