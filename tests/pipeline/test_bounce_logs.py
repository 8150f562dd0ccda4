"""Bounce mails and CSV bounce logs loaded beside SES events: classified, attributed, counted once."""

from __future__ import annotations

import csv
import mailbox
import shutil
from pathlib import Path

from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from tests import sesdata as ses
from tests.pipeline.test_refresh import T0, T1, q

DSN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"


def dsn_mail(recipient: str, ses_message_id: str, portal: str | None = None,
             status: str = "5.1.1", diagnostic: str = "smtp; 550 5.1.1 user unknown",
             final: str | None = None) -> bytes:
    """A minimal RFC 3464 report whose returned headers carry SES's Message-ID (and a portal).
    `final`: the address the receiving MTA forwarded `recipient` to, as its Final-Recipient."""
    portal_header = f"X-Portal-Id: {portal}\r\n" if portal else ""
    fields = (f"Original-Recipient: rfc822; {recipient}\r\nFinal-Recipient: rfc822; {final}\r\n"
              if final else f"Final-Recipient: rfc822; {recipient}\r\n")
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@lms.example\r\n"
        "Date: Fri, 20 Nov 2026 10:05:00 +0000\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message "
        "could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Fri, 20 Nov 2026 10:04:58 +0000\r\n\r\n"
        f"{fields}Action: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{ses_message_id}@email.amazonses.com>\r\nFrom: noreply@lms.example\r\n"
        f"To: {recipient}\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\nSubject: Welcome\r\n{portal_header}"
        "\r\n--B--\r\n"
    ).encode()


def test_ses_bounces_are_classified_per_recipient(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    ses.write_object(folder, "o", [
        ses.bounce("a", "a@x.example", T0, T1),
        ses.bounce("b", "b@x.example", T0, T1, btype="Transient", subtype="MailboxFull", status="5.2.2",
                   diagnostic="smtp; 552 5.2.2 mailbox full"),
        ses.bounce("c", "c@x.example", T0, T1, subtype="OnAccountSuppressionList", status="5.1.1",
                   diagnostic="Amazon SES did not send the message to this address because it is on "
                              "the suppression list for your account."),
        ses.bounce("d", "d@x.example", T0, T1, status="5.7.1",
                   diagnostic="smtp; 550 5.7.1 Message rejected as spam by content filter"),
    ])
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(folder)], quiet=True)
    got = dict((m, (c, r)) for m, c, r in q(
        db, "select message_id, bounce_class, reason from fct_recipient_events where event_type = 'Bounce'"))
    assert got["a"] == ("hard", "userunknown")
    assert got["b"] == ("soft", "mailboxfull")
    assert got["c"][1] == "onaccountsuppressionlist"
    # A 5xx refusal of the content says nothing about the address: soft.
    assert got["d"] == ("soft", "spamdetected")


def test_bounce_mails_in_eml_mbox_and_maildir_become_log_bounces(tmp_path):
    logs = tmp_path / "bounces"
    logs.mkdir()
    expected = list(csv.DictReader((DSN_DIR / "expected.csv").open()))
    singles = expected[:3]
    for row in singles:
        shutil.copy(DSN_DIR / row["file"], logs / row["file"])
    box = mailbox.mbox(logs / "archive.mbox")
    for row in expected[3:5]:
        box.add((DSN_DIR / row["file"]).read_bytes())
    box.flush()
    md = mailbox.Maildir(logs / "Maildir", create=True)
    md.add((DSN_DIR / expected[5]["file"]).read_bytes())
    db = tmp_path / "d.duckdb"
    summary = refresh(db, [LocalSource(logs)], quiet=True)
    rows = q(db, "select recipient, bounce_class, reason, source_kind from fct_recipient_events")
    want = {(r["recipient"], r["hard_or_soft"], r["reason"]) for r in expected[:6]}
    assert {(r, c, why) for r, c, why, _ in rows} == want
    assert {kind for *_, kind in rows} == {"log"}
    assert summary.records_loaded == 6  # 3 .eml + 2 mails in the mbox + 1 maildir message


def test_dsn_for_a_bounce_ses_also_reported_counts_once_either_order(tmp_path):
    db = tmp_path / "d.duckdb"
    ses_dir, log_dir = tmp_path / "ses", tmp_path / "logs"
    ses_dir.mkdir()
    log_dir.mkdir()
    # The log arrives first and is attributed through its returned X-Portal-Id header ...
    (log_dir / "1.eml").write_bytes(dsn_mail("bob@b.example", "m2", portal="p7"))
    refresh(db, [LocalSource(log_dir)], quiet=True)
    assert q(db, "select source_kind, portal_id, attribution, bounce_class from fct_recipient_events") == [
        ("log", "p7", "header", "hard")]
    # ... then SES reports the same bounce: SES's record replaces the log's.
    ses.write_object(ses_dir, "o", [
        ses.send("m2", "bob@b.example", T0), ses.bounce("m2", "bob@b.example", T0, T1)])
    refresh(db, [LocalSource(ses_dir), LocalSource(log_dir)], quiet=True)
    bounce_kinds = "select source_kind from fct_recipient_events where event_type = 'Bounce'"
    assert q(db, bounce_kinds) == [("ses_event",)]
    # A later log copy of a bounce SES already has adds nothing, and is attributed via the Send.
    (log_dir / "2.eml").write_bytes(dsn_mail("bob@b.example", "m2"))
    summary = refresh(db, [LocalSource(ses_dir), LocalSource(log_dir)], quiet=True)
    assert summary.facts_new == 0
    assert q(db, "select count(*) from fct_recipient_events where event_type = 'Bounce'") == [(1,)]


def _send_and_mail_a_day_apart(folder: Path, mail_first: bool) -> Path:
    sent = "2026-11-19T23:59:59.000Z"
    src, logs, db = folder / "ses", folder / "logs", folder / "d.duckdb"
    src.mkdir(parents=True)
    logs.mkdir()

    def send() -> None:
        ses.write_object(src, "1", [ses.send("m9", "zoe@z.example", sent, portal="pZ")])

    def mail() -> None:
        (logs / "1.eml").write_bytes(dsn_mail("zoe@z.example", "m9"))
        if mail_first:
            ses.write_object(src, "0", [ses.notification(
                ses.delivery("m9", "zoe@z.example", sent, "2026-11-20T00:00:01.000Z", portal=None))])

    for step in (mail, send) if mail_first else (send, mail):
        step()
        refresh(db, [LocalSource(src), LocalSource(logs)], quiet=True)
    return db


def test_a_bounce_mail_dated_the_next_utc_day_gets_its_portal_from_the_send_either_order(tmp_path):
    # SES sent at 23:59:59 on 19 Nov; the bounce mail's returned headers date the message 20 Nov 10:00
    # (dsn_mail), so the mail's row lies on the next UTC day: the Send still gives it its portal. When
    # the mail comes first, so does SES's delivery notification (no tags): the message's outcome is
    # dated the 19th before and after the Send, and the mail's day must still be recomputed.
    from tests.sql.test_aggregate_tables import assert_equal

    for mail_first in (False, True):
        db = _send_and_mail_a_day_apart(tmp_path / str(mail_first), mail_first)
        assert q(db, "select sent_date::varchar, portal_id, attribution from fct_recipient_events "
                     "where source_kind = 'log'") == [("2026-11-20", "pZ", "send")], mail_first
        assert q(db, "select count(*) from mart_unattributed_days") == [(0,)], mail_first
        assert_equal(db)


def test_a_forwarded_address_is_stored_as_the_address_we_sent_to(tmp_path):
    # We mailed bob@b.example; its MTA forwarded it to bob.smith@mail.b.example, which failed. The
    # deactivation must find bob@b.example (the learner's address), and SES's report of the same
    # bounce (for bob@b.example) must replace the log's rather than count twice.
    logs, ses_dir, db = tmp_path / "logs", tmp_path / "ses", tmp_path / "d.duckdb"
    logs.mkdir()
    (logs / "1.eml").write_bytes(dsn_mail("bob@b.example", "m9", final="bob.smith@mail.b.example"))
    refresh(db, [LocalSource(logs)], quiet=True)
    assert q(db, "select recipient, bounce_class from fct_recipient_events") == [("bob@b.example", "hard")]
    ses.write_object(ses_dir, "o", [ses.send("m9", "bob@b.example", T0),
                                    ses.bounce("m9", "bob@b.example", T0, T1)])
    refresh(db, [LocalSource(ses_dir), LocalSource(logs)], quiet=True)
    bounces = "select source_kind from fct_recipient_events where event_type = 'Bounce'"
    assert q(db, bounces) == [("ses_event",)]


def test_dsn_and_ses_bounce_arriving_in_the_same_load_count_once_as_ses(tmp_path):
    db = tmp_path / "d.duckdb"
    ses_dir, log_dir = tmp_path / "ses", tmp_path / "logs"
    log_dir.mkdir()
    (log_dir / "1.eml").write_bytes(dsn_mail("bob@b.example", "m2"))
    ses.write_object(ses_dir, "o", [
        ses.send("m2", "bob@b.example", T0, portal="p7"),
        ses.bounce("m2", "bob@b.example", T0, T1, portal="p7"),
    ])
    summary = refresh(db, [LocalSource(ses_dir), LocalSource(log_dir)], quiet=True)
    bounce_kinds = "select source_kind from fct_recipient_events where event_type = 'Bounce'"
    assert q(db, bounce_kinds) == [("ses_event",)]
    # Facts: the Send and SES's bounce; the log's copy never becomes one.
    assert summary.facts_new == 2


def test_csv_bounce_log_with_its_own_column_names(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "export.csv").write_text(
        "Recipient;Timestamp;Error;Tenant\n"
        "ann@a.example;2026-11-20T10:00:00Z;550 5.1.1 <ann@a.example>: user unknown;p1\n"
        "bea@b.example;2026-11-20T11:00:00Z;452 4.2.2 mailbox full;p2\n"
        "not-an-address;2026-11-20T11:00:00Z;550 5.1.1 user unknown;p2\n"
    )
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(logs)], quiet=True)
    assert q(db, "select recipient, bounce_class, reason, portal_id, status_code from fct_recipient_events "
                 "order by 1") == [
        ("ann@a.example", "hard", "userunknown", "p1", "5.1.1"),
        ("bea@b.example", "soft", "mailboxfull", "p2", "4.2.2"),
    ]
    assert q(db, "select record_index, reason from _quarantine") == [
        (2, "CSV row without a valid email address")]


def test_a_mail_that_is_not_a_bounce_is_quarantined(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "hello.eml").write_bytes(
        b"From: a@b.example\r\nTo: c@d.example\r\nSubject: lunch?\r\n\r\nSee you.\r\n")
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(logs)], quiet=True)
    reasons = [r for (r,) in q(db, "select reason from _quarantine")]
    assert len(reasons) == 1 and reasons[0].startswith("bounce mail without a bounced recipient")
    assert q(db, "select count(*) from fct_recipient_events") == [(0,)]
