"""Address facts, recommended actions, typo domains and portal causes on tiny databases loaded by the
real refresh. Every expected number is counted by hand in the comment beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.warehouse import catalog, reads
from tests import sesdata as ses


def at(day: int, hour: int = 10, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00.000Z"


def complaint(message_id: str, to: str, sent: str, when: str, portal: str = "p1") -> dict:
    rec = ses.send(message_id, to, sent, portal)
    rec["eventType"] = "Complaint"
    del rec["send"]
    rec["complaint"] = {"timestamp": when, "feedbackId": f"c-{message_id}", "complaintFeedbackType": "abuse",
                        "complainedRecipients": [{"emailAddress": to}]}
    return rec


def hard(message_id: str, to: str, day: int, portal: str, diagnostic: str = "smtp; 550 5.1.1 user unknown",
         status: str = "5.1.1") -> list[dict]:
    return [ses.send(message_id, to, at(day), portal),
            ses.bounce(message_id, to, at(day), at(day, 10, 1), portal, status=status, diagnostic=diagnostic)]


def soft(message_id: str, to: str, day: int, portal: str) -> list[dict]:
    return [ses.send(message_id, to, at(day), portal),
            ses.bounce(message_id, to, at(day), at(day, 11), portal, btype="Transient", subtype="MailboxFull",
                       status="5.2.2", diagnostic="smtp; 552 5.2.2 mailbox full")]


def delivered(message_id: str, to: str, day: int, portal: str, batch: str | None = None) -> list[dict]:
    return [ses.send(message_id, to, at(day), portal, batch=batch),
            ses.delivery(message_id, to, at(day), at(day, 10, 1), portal)]


def refused(message_id: str, to: str, day: int, portal: str) -> list[dict]:
    return [ses.send(message_id, to, at(day), portal),
            ses.bounce(message_id, to, at(day), at(day, 10, 2), portal, btype="Transient",
                       subtype="ContentRejected", status="5.7.1",
                       diagnostic="smtp; 550 5.7.1 Message content rejected by policy")]


def load(tmp_path: Path, records: list[dict], users: str = "", batches: str = "", portals: str = "") -> Path:
    folder = tmp_path / "ses"
    ses.write_object(folder, "2026/11/30/00/all", records)
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\n" + portals)
    (dirs / "users.csv").write_text(
        "user_id,portal_id,name,email,status,upload_batch_id,created_at\n" + users)
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n" + batches)
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(folder)], directory=dirs, quiet=True)
    return db


def q(db: Path, sql: str, soft_limit: int | None = None) -> list[tuple]:
    with warehouse.reader(db) as con:
        if soft_limit is not None:
            con.execute("set variable soft_bounces_before_suppress = ?", [soft_limit])
        return con.execute(sql).fetchall()


def facts(db: Path, soft_limit: int | None = None) -> dict[str, dict]:
    with warehouse.reader(db) as con:
        if soft_limit is not None:
            con.execute("set variable soft_bounces_before_suppress = ?", [soft_limit])
        df = con.sql("select * from mart_address_facts").pl()
    return {r["recipient"]: r for r in df.to_dicts()}


def causes(db: Path) -> dict[tuple, dict]:
    with warehouse.reader(db) as con:
        df = con.sql("select * from mart_portal_causes").pl()
    return {(r["portal_id"], r["cause"], r["subject"]): r for r in df.to_dicts()}


@pytest.fixture
def actions_db(tmp_path: Path) -> Path:
    recs = [
        # ann: soft, soft, delivered, soft, soft -> the delivery on day 3 resets the run.
        *soft("a1", "ann@a.example", 1, "p1"), *soft("a2", "ann@a.example", 2, "p1"),
        *delivered("a3", "ann@a.example", 3, "p1"),
        *soft("a4", "ann@a.example", 4, "p1"), *soft("a5", "ann@a.example", 5, "p1"),
        # bob: three soft bounces, never delivered.
        *soft("b1", "bob@a.example", 1, "p1"), *soft("b2", "bob@a.example", 2, "p1"),
        *soft("b3", "bob@a.example", 3, "p1"),
        # cy: delivered once, then one hard bounce (user unknown).
        *delivered("c1", "cy@a.example", 1, "p1"), *hard("c2", "cy@a.example", 2, "p1"),
        # dee: delivered, then complained about it.
        *delivered("d1", "dee@a.example", 1, "p1"), complaint("d1", "dee@a.example", at(1), at(1, 12)),
        # eve: delivered twice.
        *delivered("e1", "eve@a.example", 1, "p1"), *delivered("e2", "eve@a.example", 2, "p1"),
        # An SES hard bounce that is a policy refusal, not a dead address.
        *hard("f1", "fay@a.example", 1, "p1", diagnostic="smtp; 550 5.7.1 rejected for policy reasons",
              status="5.7.1"),
        # Unattributed mail keeps its own row (portal null).
        *hard("u1", "lost@a.example", 1, None),
    ]
    users = ("u-ann,p1,Ann Archer,ANN@a.example,active,b7,2025-01-01T00:00:00Z\n"
             "u-cy,p1,Cy Cole,cy@a.example,deactivated,b7,2025-02-01T00:00:00Z\n")
    return load(tmp_path, recs, users=users, portals="p1,One,\n")


def test_counts_and_the_consecutive_soft_run_reset_by_a_delivery(actions_db):
    f = facts(actions_db)
    ann = f["ann@a.example"]
    # 5 messages sent; 4 soft bounces (a1 a2 a4 a5); 1 delivery (a3); 0 hard.
    assert (ann["sends"], ann["soft_bounces"], ann["hard_bounces"], ann["deliveries"]) == (5, 4, 0, 1)
    # Only a4 and a5 bounced after the latest delivery (day 3): 2 in a row, not 4.
    assert ann["consecutive_soft_bounces"] == 2
    assert str(ann["last_delivery_at"]) == "2026-11-03 10:01:00+00:00"
    # First bounce a1 on day 1 at 11:00, last a5 on day 5 at 11:00.
    assert str(ann["first_bounce_at"]) == "2026-11-01 11:00:00+00:00"
    assert str(ann["last_bounce_at"]) == "2026-11-05 11:00:00+00:00"
    assert (ann["last_reason"], ann["last_bounce_type"], ann["last_bounce_subtype"]) == (
        "mailboxfull", "Transient", "MailboxFull")
    # The directory row matched on portal + lower(email).
    assert (ann["learner_name"], ann["user_id"], ann["user_status"], ann["upload_batch_id"]) == (
        "Ann Archer", "u-ann", "active", "b7")
    # 2 < 3 (the default N): no action.
    assert ann["recommended_action"] == "none"
    bob = f["bob@a.example"]
    # b1 b2 b3, no delivery ever: 3 in a row.
    assert (bob["soft_bounces"], bob["consecutive_soft_bounces"]) == (3, 3)


def test_actions_first_match_wins(actions_db):
    f = facts(actions_db)
    # 3 consecutive soft >= N = 3.
    assert f["bob@a.example"]["recommended_action"] == "suppress"
    # 1 hard bounce (5.1.1 user unknown: the address is dead).
    cy = f["cy@a.example"]
    assert (cy["hard_bounces"], cy["dead_bounces"], cy["recommended_action"]) == (1, 1, "deactivate")
    assert cy["user_status"] == "deactivated"
    # 1 complaint, nothing else wrong.
    assert (f["dee@a.example"]["complaints"], f["dee@a.example"]["recommended_action"]) == (
        1, "stop mailing (complaint)")
    assert f["eve@a.example"]["recommended_action"] == "none"
    # Permanent 5.7.1: counts as a hard bounce for the rate, but the address is not dead, and one refusal
    # from a domain that refuses nothing else is no reason to ask for allow-listing either.
    fay = f["fay@a.example"]
    assert (fay["hard_bounces"], fay["dead_bounces"], fay["refusals"]) == (1, 0, 1)
    assert fay["recommended_action"] == "none"
    # The unattributed address is its own row, portal null.
    assert f["lost@a.example"]["portal_id"] is None
    assert f["lost@a.example"]["recommended_action"] == "deactivate"


def test_suppress_threshold_comes_from_the_session_variable(actions_db):
    # N = 2: ann's run of 2 (a4, a5) now reaches it.
    assert facts(actions_db, soft_limit=2)["ann@a.example"]["recommended_action"] == "suppress"
    # N = 4: bob's run of 3 no longer does.
    assert facts(actions_db, soft_limit=4)["bob@a.example"]["recommended_action"] == "none"


def test_one_row_per_portal_and_address(actions_db):
    rows = q(actions_db, "select portal_id, recipient, count(*) from mart_address_facts group by all "
                         "having count(*) > 1")
    assert rows == []
    # 7 addresses in p1 (ann bob cy dee eve fay) = 6, plus lost@ unattributed = 7 rows.
    assert q(actions_db, "select count(*) from mart_address_facts") == [(7,)]


@pytest.fixture
def domains_db(tmp_path: Path) -> Path:
    recs = [
        # Typo domains bounce (host not found); real ones deliver.
        *hard("t1", "jo@outlookk.com", 1, "pT", "smtp; 550 5.1.2 Host or domain name not found", "5.1.2"),
        *hard("t2", "al@gmail.con", 1, "pT", "smtp; 550 5.1.2 Host or domain name not found", "5.1.2"),
        *hard("t3", "bo@gmail.con", 2, "pT", "smtp; 550 5.1.2 Host or domain name not found", "5.1.2"),
        *delivered("t4", "ok@gmail.com", 1, "pT"),
        *delivered("t5", "x@gmx-mail.org", 1, "pT"),
        # Placeholders and role accounts.
        *hard("p1", "test@example.com", 1, "pP"), *hard("p2", "user1@test.com", 1, "pP"),
        *hard("p3", "asdf@asdf.com", 1, "pP"), *hard("p4", "qa@sandbox.test", 1, "pP"),
        *delivered("p5", "info@acme-corp.com", 1, "pP"), *delivered("p6", "support@acme-corp.com", 1, "pP"),
        *delivered("p7", "noreply@acme-corp.com", 1, "pP"), *delivered("p8", "jane@acme-corp.com", 1, "pP"),
        *delivered("p9", "Info+lms@acme-corp.com", 2, "pP"),
    ]
    # globex-corp.com in pC: 6 addresses refused once each, 2 delivered -> 6 refusals of 8 sends.
    for i in range(6):
        recs += refused(f"g{i}", f"g{i}@globex-corp.com", 3 + i, "pC")
    recs += delivered("g6", "g6@globex-corp.com", 3, "pC") + delivered("g7", "g7@globex-corp.com", 3, "pC")
    # initech.com in pC: one stray refusal of 3 sends.
    recs += refused("i0", "i0@initech.com", 3, "pC")
    recs += delivered("i1", "i1@initech.com", 3, "pC") + delivered("i2", "i2@initech.com", 3, "pC")
    # umbrella-corp.com in pC: 5 refusals but of 30 sends (16.7 % < 20 %).
    for i in range(5):
        recs += refused(f"r{i}", f"r{i}@umbrella-corp.com", 4, "pC")
    for i in range(5, 30):
        recs += delivered(f"r{i}", f"r{i}@umbrella-corp.com", 4, "pC")
    return load(tmp_path, recs, portals="pT,Typos,\npP,Placeholders,\npC,Corporate,\n")


def test_typo_domains_by_one_edit(domains_db):
    assert sorted(q(domains_db, "select domain, suggestion, distance from int_domain_typos")) == [
        ("gmail.con", "gmail.com", 1),      # con -> com: one substitution in the TLD
        ("outlookk.com", "outlook.com", 1),  # one extra k
    ]  # gmail.com itself (exact) and gmx-mail.org (4 edits from gmx.com, 5 from gmail.com) are not typos


def test_the_domains_page_lists_the_typo_domains_with_their_addresses(domains_db):
    with warehouse.reader(domains_db) as con:
        rows = reads.run(con, "app_domain_typos", portal_id=None, rollup=False).rows()
        alone = reads.run(con, "app_domain_typos", portal_id="pC", rollup=False).rows()
    # By hand: gmail.con has al@ and bo@ (both hard-bounced), outlookk.com jo@, all in pT.
    assert rows == [("gmail.con", "gmail.com", 2, 2, "pT", "al@gmail.con"),
                    ("outlookk.com", "outlook.com", 1, 1, "pT", "jo@outlookk.com")]
    assert alone == []  # pC mailed no typo domain


def test_typo_rule_on_a_list_of_domains():
    """The rule itself, over domains that must and must not be flagged (no load needed)."""
    import duckdb

    con = duckdb.connect()
    catalog.create_schema(con)
    domains = {
        "gmial.com": "gmail.com", "hotmial.com": "hotmail.com", "yaho.com": "yahoo.com",
        "gmailcom": "gmail.com", "gmail.co": "gmail.com", "aol.con": "aol.com", "me.co": "me.com",
        "hotmail": "hotmail.com", "googlemail.co": "googlemail.com",
        # Not typos: providers, their own national domains, known real neighbours, short-name lookalikes.
        "gmail.com": None, "yahoo.ca": None, "hotmail.co.uk": None, "email.com": None, "cloud.com": None,
        "mt.com": None, "hive.com": None, "web.dr": None, "gmx-mail.org": None, "contoso-corp.com": None,
    }
    for i, d in enumerate(domains):
        con.execute("insert into fct_recipient_events (event_key, load_id, source_kind, event_type, "
                    "recipient, recipient_domain) values (?, 1, 'ses_event', 'Send', ?, ?)",
                    [str(i), f"a@{d}", d])
    catalog.apply_models(con)
    got = dict(con.execute("select domain, suggestion from int_domain_typos").fetchall())
    assert got == {d: s for d, s in domains.items() if s}


def test_typo_address_action_and_cause(domains_db):
    f = facts(domains_db)
    # The typo wins over 'deactivate' although jo@outlookk.com hard-bounced.
    assert f["jo@outlookk.com"]["recommended_action"] == "fix typo: jo@outlook.com"
    assert f["al@gmail.con"]["recommended_action"] == "fix typo: al@gmail.com"
    assert f["ok@gmail.com"]["recommended_action"] == "none"
    c = causes(domains_db)
    # gmail.con: al@ and bo@ = 2 addresses; outlookk.com: jo@ = 1.
    gmail_con = c["pT", "typo_domain", "gmail.con"]
    assert (gmail_con["evidence"], gmail_con["suggestion"]) == (2, "gmail.com")
    assert c["pT", "typo_domain", "outlookk.com"]["example"] == "jo@outlookk.com"
    assert {k for k in c if k[0] == "pT"} == {("pT", "typo_domain", "gmail.con"),
                                              ("pT", "typo_domain", "outlookk.com")}


def test_placeholder_and_role_addresses(domains_db):
    c = causes(domains_db)
    placeholders = {k[2]: v["evidence"] for k, v in c.items() if k[:2] == ("pP", "placeholder_address")}
    # Reserved or test domains by name, .test by TLD, and noreply@ by its local part.
    assert placeholders == {"example.com": 1, "test.com": 1, "asdf.com": 1, "sandbox.test": 1, "noreply@": 1}
    roles = {k[2]: v["evidence"] for k, v in c.items() if k[:2] == ("pP", "role_account")}
    # info@ twice: info@ and Info+lms@ (lower-cased, +tag dropped); jane@ is a person.
    assert roles == {"info@": 2, "support@": 1, "noreply@": 1}
    assert c["pP", "placeholder_address", "example.com"]["bounced_addresses"] == 1
    assert c["pP", "role_account", "info@"]["bounced_addresses"] == 0


def test_domain_rejecting_content(domains_db):
    c = causes(domains_db)
    globex = c["pC", "domain_rejecting_content", "globex-corp.com"]
    # 6 refusals >= 5, of 8 sends = 75 % >= 20 %.
    assert (globex["evidence"], globex["evidence_unit"], globex["sends"], globex["addresses"]) == (
        6, "refusals", 8, 6)
    assert globex["rate"] == pytest.approx(6 / 8)
    assert globex["example_detail"] == "smtp; 550 5.7.1 Message content rejected by policy"
    # initech: 1 refusal < 5; umbrella: 5 refusals but 5 / 30 = 16.7 % < 20 %.
    assert [k for k in c if k[1] == "domain_rejecting_content"] == [("pC", "domain_rejecting_content",
                                                                      "globex-corp.com")]
    f = facts(domains_db)
    assert f["g0@globex-corp.com"]["recommended_action"] == "ask their IT to allow-list our sender"
    assert f["g6@globex-corp.com"]["recommended_action"] == "none"  # delivered
    assert f["i0@initech.com"]["recommended_action"] == "none"
    assert f["r0@umbrella-corp.com"]["recommended_action"] == "none"


def test_bad_upload_batch_and_stale_accounts(tmp_path):
    recs = []
    # pB batch bad1: 20 sends, 5 hard bounces (25 %). Batch ok1: 40 sends, 1 hard bounce (2.5 %).
    for i in range(20):
        recs.append(ses.send(f"x{i}", f"x{i}@b.example", at(2), "pB", batch="bad1"))
        if i < 5:
            recs.append(ses.bounce(f"x{i}", f"x{i}@b.example", at(2), at(2, 10, 5), "pB"))
    for i in range(40):
        recs.append(ses.send(f"y{i}", f"y{i}@b.example", at(3), "pB", batch="ok1"))
        if i < 1:
            recs.append(ses.bounce(f"y{i}", f"y{i}@b.example", at(3), at(3, 10, 5), "pB"))
    # pS batch tiny: 10 sends, 5 hard bounces (50 %), but fewer than 20 sends.
    for i in range(10):
        recs.append(ses.send(f"z{i}", f"z{i}@s.example", at(2), "pS", batch="tiny"))
        if i < 5:
            recs.append(ses.bounce(f"z{i}", f"z{i}@s.example", at(2), at(2, 10, 5), "pS"))
    # pO stale accounts: old1 created 2024 and never delivered -> stale; old2 created 2024 but delivered
    # on day 5, 5 days before its bounce; new1 created 2026-10-01, 40 days before its bounce; old3
    # created 2024, delivered on day 6 by another portal (pX): a delivery anywhere in the account counts.
    recs += hard("o1", "old1@o.example", 10, "pO")
    recs += delivered("o5", "old3@o.example", 6, "pX") + hard("o6", "old3@o.example", 10, "pO")
    recs += delivered("o2", "old2@o.example", 5, "pO") + hard("o3", "old2@o.example", 10, "pO")
    recs += hard("o4", "new1@o.example", 10, "pO")
    users = ("1,pO,Old One,old1@o.example,active,,2024-01-01T00:00:00Z\n"
             "2,pO,Old Two,old2@o.example,active,,2024-01-01T00:00:00Z\n"
             "3,pO,New One,new1@o.example,active,,2026-10-01T00:00:00Z\n"
             "4,pO,Old Three,old3@o.example,active,,2024-01-01T00:00:00Z\n")
    batches = ("bad1,pB,2026-11-01T09:00:00Z,crm_export.csv,20\nok1,pB,2026-11-02T09:00:00Z,hr.csv,40\n"
               "tiny,pS,2026-11-01T09:00:00Z,tiny.csv,10\n")
    db = load(tmp_path, recs, users=users, batches=batches, portals="pB,B,\npS,S,\npO,O,\npX,X,\n")
    c = causes(db)
    bad = c["pB", "bad_upload_batch", "bad1"]
    # 5 hard bounces of 20 sends = 25 %; outside the batch 1 of 40 = 2.5 %; 25 % >= 3 x 2.5 % and >= 5 %.
    assert (bad["evidence"], bad["evidence_unit"], bad["sends"]) == (5, "hard bounces", 20)
    assert (bad["rate"], bad["baseline_rate"]) == (pytest.approx(0.25), pytest.approx(0.025))
    assert bad["batch_filename"] == "crm_export.csv"
    assert str(bad["batch_uploaded_at"]) == "2026-11-01 09:00:00+00:00"
    # ok1: 2.5 % < 5 %; tiny: 10 sends < 20.
    assert [k for k in c if k[1] == "bad_upload_batch"] == [("pB", "bad_upload_batch", "bad1")]
    stale = [v for k, v in c.items() if k[1] == "stale_accounts"]
    # Only old1: created 2024-01-01, 679 days before the bounce, no delivery before it.
    assert [(s["portal_id"], s["evidence"], s["example"]) for s in stale] == [("pO", 1, "old1@o.example")]
    assert str(stale[0]["first_seen"]) == "2026-11-10 10:01:00+00:00"


def test_empty_database_gives_empty_views(tmp_path):
    db = tmp_path / "e.duckdb"
    with warehouse.writer(db) as con:
        catalog.create_schema(con)
        catalog.apply_models(con)
    assert q(db, "select count(*) from mart_address_facts") == [(0,)]
    assert q(db, "select count(*) from mart_portal_causes") == [(0,)]


def test_lookup_finds_a_directory_only_account_whatever_the_case_typed(tmp_path):
    # The directory lists the account as " Zed@A.example " (stored lower-cased and trimmed); it was
    # never mailed. The search box may hold any case and spaces.
    db = load(tmp_path, [*delivered("e1", "eve@a.example", 1, "p1")],
              users="u-zed,p1,Zed Zorn, Zed@A.example ,active,,2025-01-01T00:00:00Z\n",
              portals="p1,One,\n")
    with warehouse.reader(db) as con:
        rows = reads.run(con, "lookup_portals", address="  ZED@a.EXAMPLE ").to_dicts()
    assert [(r["portal_id"], r["in_directory"], r["learner_name"], r["sends"]) for r in rows] == [
        ("p1", True, "Zed Zorn", 0)]
