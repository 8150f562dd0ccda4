"""Bounce-mail parsing: exact fields from a few real fixtures, hand-built cases, mail sources, junk."""

import json
import mailbox
import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipelines.bounces.dsn import BouncedRecipient, clean_address, iter_mails, parse, parse_dsn_fields

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"


def parse_recipients(data: bytes) -> list[BouncedRecipient]:
    return parse(data).recipients


def _one(name: str):
    result = parse((FIXTURES / name).read_bytes())
    assert result.problem is None
    return result


# -- real fixtures, parsed exactly -----------------------------------------------------------------
def test_rfc3464_report_amavis():
    result = _one("001.eml")
    assert result.kind == "rfc3464"
    [r] = result.recipients
    assert r.recipient == "neko@example.co.jp"
    assert (r.action, r.status, r.reply_code) == ("failed", "5.1.1", "550")
    assert r.diagnostic == ("550 5.1.1 <neko@example.co.jp>: Recipient address rejected: User unknown in "
                            "virtual mailbox table")
    assert (r.remote_mta, r.reporting_mta) == ("127.0.0.1", "neko1.example.com")
    assert r.arrival_date == "Thu, 29 Apr 2011 23:34:45 +0900 (JST)"
    assert r.original_message_id == "Qdmail.0.0.0e_9c642ee04972b793b0cd524f85f923cb@example.net"
    assert r.original_headers["To"] == "neko@example.co.jp"
    assert r.original_headers["Subject"] == "Nyaan"
    assert (r.verdict.bounce, r.verdict.reason, r.verdict.status) == ("hard", "userunknown", "5.1.1")


def test_amazon_ses_dsn_gives_the_ses_message_id():
    [r] = _one("002.eml").recipients
    assert r.recipient == "kijitora@neko.nyaan.example.edu"
    assert r.diagnostic == "550 5.4.4 Invalid domain"
    assert r.reporting_mta == "a8-30.smtp-out.amazonses.com"
    assert r.ses_message_id == "0000000000000000-22222222-ffff-2222-2222-000000000000-000000"
    assert r.original_headers["X-SES-Outgoing"] == "2017.04.29-192.0.2.224"
    assert (r.verdict.bounce, r.verdict.reason) == ("hard", "hostunknown")


def test_postfix_x_unix_diagnostic_is_kept_with_its_type():
    [r] = _one("031.eml").recipients
    assert r.diagnostic.startswith("x-unix; procmail: Couldn't create")
    assert r.verdict.reason == "mailererror"


def test_qmail_text_bounce():
    result = _one("043.eml")
    assert result.kind == "text"
    [r] = result.recipients
    assert r.recipient == "neko@nyaan.jp"
    assert r.diagnostic == "<neko@nyaan.jp>: Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
    assert r.original_message_id == "20240624084801.44371.qmail@nq.example.jp"
    assert (r.verdict.bounce, r.verdict.reason, r.verdict.status) == ("hard", "notaccept", "5.4.4")


def test_two_recipients_in_one_text_bounce():
    rs = _one("072.eml").recipients
    assert [r.recipient for r in rs] == ["mikeneko@example.co.jp", "sabineko@example.co.jp"]
    assert rs[0].diagnostic.endswith("5.2.1 <mikeneko@example.co.jp>... User Unknown")
    assert rs[1].diagnostic.endswith("5.2.2 <sabineko@example.co.jp>... Mailbox Full")
    assert [r.verdict.reason for r in rs] == ["filtered", "mailboxfull"]
    assert [r.reply_code for r in rs] == ["550", "550"]


def test_exchange_ndr_without_delivery_status():
    [r] = _one("028.eml").recipients
    assert r.recipient == "kijitora@example.onmicrosoft.com"
    assert "Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'" in r.diagnostic
    assert (r.verdict.bounce, r.verdict.status) == ("hard", "5.1.1")


def test_old_sendmail_transcript_with_two_recipients():
    rs = _one("061.eml").recipients
    assert [r.recipient for r in rs] == ["kijitora@example.ed.jp", "mikeneko@example.ac.jp"]
    assert all(r.verdict.reason == "hostunknown" for r in rs)


def test_a_bounce_wrapping_another_bounce():
    [r] = _one("066.eml").recipients
    assert r.recipient == "kijitora@neko.example.org"
    assert r.verdict.reason == "userunknown"


def test_missing_diagnostic_is_completed_from_the_human_readable_part():
    [r] = _one("016.eml").recipients  # DSN block has no Diagnostic-Code
    assert "550 user unknown (in reply to RCPT TO command)" in r.diagnostic
    assert r.smtp_command == "RCPT"


def test_diagnostic_is_collapsed_and_bounded():
    for name in ("028.eml", "046.eml", "034.eml"):
        for r in _one(name).recipients:
            assert "\n" not in r.diagnostic and "  " not in r.diagnostic
            assert len(r.diagnostic) <= 1000


# -- hand-built mails ------------------------------------------------------------------------------
def _report(recipient_blocks: str, original_headers: str = "", human: str = "Delivery failed.\n") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.net\nTo: sender@example.com\nSubject: Delivery Status Notification\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\n\n'
        f"--BB\nContent-Type: text/plain\n\n{human}\n"
        "--BB\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
        f"{recipient_blocks}\n"
        "--BB\nContent-Type: text/rfc822-headers\n\n"
        f"{original_headers}\n--BB--\n"
    ).encode()


def test_original_headers_with_portal_x_headers():
    data = _report(
        "Final-Recipient: rfc822; <Alice@Example.ORG>\nAction: failed\nStatus: 5.2.2\n"
        "Remote-MTA: dns; mx.example.org\nDiagnostic-Code: smtp; 552-5.2.2 The email account that you\n"
        "    tried to reach is over quota\n",
        "Message-ID: <abc-123@portal.example.com>\nTo: Alice <alice@example.org>\nFrom: app@example.com\n"
        "Subject: =?utf-8?q?Caf=C3=A9_news?=\nX-Portal-Id: portal-42\nX-Upload-Batch-Id: batch-7\n"
        "X-SES-Message-ID: 0100018c-aaaa-bbbb\n",
    )
    [r] = parse_recipients(data)
    assert r.recipient == "alice@example.org"
    assert r.original_message_id == "abc-123@portal.example.com"
    assert r.original_headers["X-Portal-Id"] == "portal-42"
    assert r.original_headers["X-Upload-Batch-Id"] == "batch-7"
    assert r.original_headers["Subject"] == "Café news"
    assert r.ses_message_id == "0100018c-aaaa-bbbb"
    assert r.diagnostic == "552-5.2.2 The email account that you tried to reach is over quota"
    assert (r.verdict.bounce, r.verdict.reason) == ("soft", "mailboxfull")


def test_several_recipients_delayed_and_delivered_blocks():
    data = _report(
        "Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\n\n"
        "Final-Recipient: rfc822; b@example.org\nAction: delayed\nStatus: 4.4.1\n"
        "Diagnostic-Code: smtp; connect to mx.example.org: Connection timed out\n\n"
        "Final-Recipient: rfc822; c@example.org\nAction: delivered\nStatus: 2.0.0\n"
    )
    rs = parse_recipients(data)
    assert [r.recipient for r in rs] == ["a@example.org", "b@example.org"]
    assert (rs[0].verdict.bounce, rs[0].verdict.reason) == ("hard", "userunknown")
    assert (rs[1].action, rs[1].verdict.bounce, rs[1].verdict.reason) == ("delayed", "soft", "expired")


def test_dsn_field_parser_handles_folding_and_missing_blank_lines():
    per_message, groups = parse_dsn_fields(
        "Reporting-MTA: dns; mx\nOriginal-Recipient: rfc822;a@x.example\n"
        "Final-Recipient: rfc822;a@x.example\n"
        "Action: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 a\n  b\n"
        "Original-Recipient: rfc822;b@x.example\nFinal-Recipient: rfc822;b@x.example\nAction: failed\n"
    )
    assert per_message == {"reporting-mta": "dns; mx"}
    assert [g["final-recipient"] for g in groups] == ["rfc822;a@x.example", "rfc822;b@x.example"]
    assert groups[0]["diagnostic-code"] == "smtp; 550 a b"


def test_gmail_style_text_bounce_with_x_failed_recipients():
    data = (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: me@example.com\n"
        b"X-Failed-Recipients: gone@example.net\nSubject: Delivery Status Notification (Failure)\n\n"
        b"Delivery to the following recipient failed permanently:\n\n     gone@example.net\n\n"
        b"Technical details of permanent failure:\nThe error that the other server returned was:\n"
        b"550 5.1.1 <gone@example.net>... User unknown\n\n----- Original message -----\n\n"
        b"From: me@example.com\nTo: gone@example.net\nMessage-ID: <m1@example.com>\nSubject: hi\n\nbody\n"
    )
    [r] = parse_recipients(data)
    assert r.recipient == "gone@example.net"
    assert r.original_message_id == "m1@example.com"
    assert (r.verdict.bounce, r.verdict.status) == ("hard", "5.1.1")


# -- junk never raises ---------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    b"",
    b"\x00\x01\x02\xff" * 1000,
    os.urandom(4096),
    b"not a mail at all, just text without headers",
    b"Content-Type: multipart/report; boundary=\"x\"\n\n--x\nContent-Type: message/delivery-status\n\n"
    b"Final-Recipient: \xff\xfe\nAction: failed\n--x",
    b"From: a@b.example\nContent-Type: text/plain; charset=no-such-charset\n\n\xe9\xe8 550 5.1.1 x@y.example",
    b"Subject: x\nContent-Type: multipart/mixed; boundary=\"q\"\n\n" + b"--q\n" * 500,
    b"From: x\n\n" + b"a" * 300_000,
])
def test_garbage_gives_no_recipients_and_no_exception(data):
    result = parse(data)
    assert isinstance(result.recipients, list)
    if not result.recipients:
        assert result.problem


def test_an_ordinary_mail_is_not_a_bounce():
    data = (b"From: bob@example.com\nTo: carol@example.org\nSubject: lunch?\n\n"
            b"See you at noon, dave@example.net\n")
    result = parse(data)
    assert result.recipients == [] and result.problem


def test_feedback_report_is_not_a_bounce():
    data = (b"From: staff@feedback.example\nTo: fbl@example.com\nContent-Type: multipart/report; "
            b"report-type=feedback-report; boundary=\"z\"\n\n--z\nContent-Type: text/plain\n\n"
            b"complaint\n--z--\n")
    assert parse(data).recipients == []


# -- reading mails from disk ---------------------------------------------------------------------
def _msg(n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "MAILER-DAEMON@mx.example.net"
    m["To"] = "sender@example.com"
    m["Subject"] = f"Undelivered Mail Returned to Sender {n}"
    m.set_content(f"<user{n}@example.org>: host mx.example.org said: 550 5.1.1 User unknown\n")
    return m


def test_iter_mails_reads_eml_mbox_maildir_and_folders(tmp_path):
    (tmp_path / "one.eml").write_bytes((FIXTURES / "001.eml").read_bytes())
    box = mailbox.mbox(tmp_path / "box.mbox")
    for n in (1, 2, 3):
        box.add(_msg(n))
    box.flush()
    box.close()
    (tmp_path / "sub").mkdir()
    md = mailbox.Maildir(tmp_path / "sub" / "md", create=True)
    for n in (4, 5):
        md.add(_msg(n))
    (tmp_path / ".hidden.eml").write_bytes(b"x")

    got = list(iter_mails(tmp_path))
    names = [(name, i) for name, i, _ in got]
    assert names == [("box.mbox", 0), ("box.mbox", 1), ("box.mbox", 2), ("one.eml", 0),
                     ("sub/md", 0), ("sub/md", 1)]
    recipients = sorted(r.recipient for _, _, data in got for r in parse_recipients(data))
    assert recipients == ["neko@example.co.jp"] + [f"user{n}@example.org" for n in (1, 2, 3, 4, 5)]

    assert [(n, i) for n, i, _ in iter_mails(tmp_path / "box.mbox")] == [("box.mbox", i) for i in range(3)]
    assert len(list(iter_mails(tmp_path / "sub" / "md"))) == 2
    assert list(iter_mails(tmp_path / "missing")) == []


def test_single_mail_with_an_mbox_envelope_line_is_one_mail(tmp_path):
    path = tmp_path / "x.eml"
    path.write_bytes((FIXTURES / "021.eml").read_bytes())  # starts with "From <> ..."
    [(name, index, data)] = list(iter_mails(path))
    assert (name, index) == ("x.eml", 0)
    assert [r.recipient for r in parse_recipients(data)] == ["kijitora@neko.example.co.jp"]


# -- Amazon SES notifications e-mailed as JSON -----------------------------------------------------
SES_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


def _sns_mail(payload: dict) -> bytes:
    envelope = {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:x",
                "Message": json.dumps(payload)}
    return ("From: AWS Notifications <no-reply@sns.amazonaws.com>\nTo: ops@example.com\n"
            "Subject: AWS Notification Message\nContent-Type: text/plain; charset=UTF-8\n\n"
            + json.dumps(envelope) + "\n\n--\nIf you wish to stop receiving notifications ...\n").encode()


def test_ses_bounce_notification_json_in_a_mail():
    event = json.loads((SES_FIXTURES / "event-bounce-permanent.json").read_text())
    result = parse(_sns_mail(event))
    assert result.kind == "ses-json"
    [r] = result.recipients
    assert r.recipient == "recipient@example.com"
    assert (r.status, r.diagnostic, r.found_by) == ("5.1.1", "550 5.1.1 user unknown", "ses-json")
    assert r.ses_message_id == event["mail"]["messageId"]
    assert (r.verdict.bounce, r.verdict.reason) == ("hard", "userunknown")


def test_ses_suppression_and_non_bounce_notifications():
    event = json.loads((SES_FIXTURES / "event-bounce-permanent.json").read_text())
    event["bounce"]["bounceSubType"] = "OnAccountSuppressionList"
    [r] = parse(_sns_mail(event)).recipients
    assert (r.verdict.reason, r.verdict.signal) == ("onaccountsuppressionlist", "ses-subtype")
    delivery = json.loads((SES_FIXTURES / "event-delivery.json").read_text())
    result = parse(_sns_mail(delivery))
    assert result.recipients == [] and "Delivery" in result.problem


# -- recipient extraction you can trust (issue 12): synthetic mails, one per rule ------------------
def _text_bounce(body: str, subject: str = "Undelivered Mail Returned to Sender",
                 to: str = "sender@example.com", extra_headers: str = "") -> bytes:
    return (f"From: MAILER-DAEMON@mx.example.net\nTo: {to}\nSubject: {subject}\n{extra_headers}"
            f"Message-ID: <bounce-1@mx.example.net>\n\n{body}").encode()


def _addresses(data: bytes) -> list[str]:
    return [r.recipient for r in parse(data).recipients]


def test_the_person_the_notice_greets_is_not_a_recipient():
    # The notice is addressed to a list alias, so the greeted sender is not one of its own addressees.
    data = _text_bounce(
        "Sorry writer@example.com. Your mail to the following recipients could not be delivered\n"
        "because they are not accepting mail from writer@example.com:\n\n"
        "    reader@example.org\n", to="bounces@example.com")
    assert _addresses(data) == ["reader@example.org"]


def test_a_contact_address_is_not_a_recipient_anywhere_in_the_notice():
    data = _text_bounce(
        "I'm sorry to have to inform you that your message could not be delivered.\n"
        "For further assistance, please contact <helpdesk@isp.example.net>\n\n"
        "(the same in another language)\n<helpdesk@isp.example.net> \n\n"
        "<lost@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown\n")
    assert _addresses(data) == ["lost@example.org"]


def test_a_contact_line_with_a_display_name_is_not_a_recipient():
    data = _text_bounce(
        "Your message could not be delivered to: <lost@example.org>\n550 5.1.1 No such user\n\n"
        "Contact: Mail Support Team <support@isp.example.net>\n")
    assert _addresses(data) == ["lost@example.org"]


def test_addresses_in_links_paths_and_signatures_are_not_recipients():
    data = _text_bounce(
        "Delivery to the following recipient failed permanently:\n\n    lost@example.org\n\n"
        "550 5.1.1 The email account that you tried to reach does not exist.\n"
        "Help: https://help.example.net/faq?user=helper@example.net&lang=en\n"
        "Account arn:partition:mail:region:123:identity/owner@example.net\n"
        "Write us: <mailto:team@example.net>\n"
        "-- \nThe Mail Team\npostoffice@example.net\n")
    assert _addresses(data) == ["lost@example.org"]


def test_ses_json_broken_by_a_long_line_wrap_is_still_read():
    # Sendmail breaks an over-long line with "!" + newline + space; the SNS JSON is one line.
    payload = json.dumps({
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                   "bouncedRecipients": [{"emailAddress": "gone@example.org", "action": "failed",
                                          "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
        "mail": {"source": "app@example.com", "sourceArn": "arn:aws:ses:r:1:identity/app@example.com",
                 "messageId": "m-1", "destination": ["gone@example.org"]},
    })
    cut = payload.index('"mail"')
    wrapped = payload[:cut] + "!\n " + payload[cut:]
    data = ("From: SES <no-reply@sns.amazonaws.com>\nTo: ops@example.com\n"
            "Subject: AWS Notification Message\n\n"
            f"{wrapped}\n\n--\nunsubscribe: https://sns.example/unsub?Endpoint=ops@example.com\n").encode()
    result = parse(data)
    assert result.kind == "ses-json"
    assert [r.recipient for r in result.recipients] == ["gone@example.org"]


def test_x_failed_recipients_that_the_notice_contradicts_yields_to_the_original_addressee():
    data = _text_bounce(
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  reader@example.org\n    SMTP error from remote mail server after end of data:\n"
        "    host mx.example.org [192.0.2.2]: 554 5.7.0 Header error\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "Return-path: <sender@example.com>\nReceived: from x by y with smtp\nFrom: sender@example.com\n"
        "To: reader@example.org\nSubject: hi\n\nhi\n",
        subject="Mail delivery failed: returning message to sender",
        extra_headers="X-Failed-Recipients: reader@other.example\n")
    assert _addresses(data) == ["reader@example.org"]


def test_exim_undisclosed_address_reports_the_address_it_was_generated_from():
    data = _text_bounce(
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  an undisclosed address\n    (generated from team@example.org)\n"
        "    SMTP error from remote mail server after RCPT TO:<member7@inner.example.net>:\n"
        "    host mx.inner.example.net [192.0.2.7]: 550 5.1.1 No such user\n",
        subject="Mail delivery failed: returning message to sender")
    [r] = parse(data).recipients
    assert r.recipient == "team@example.org"
    assert "550 5.1.1 No such user" in r.diagnostic


def test_mdaemon_permanent_fatal_delivery_errors_without_a_transcript():
    data = (
        b"From: MDaemon@mail.example.net\nTo: sender@example.com\nSubject: Permanent Delivery Failure\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="m1"\n\n'
        b"--m1\nContent-Type: text/plain\n\n"
        b"The attached message had PERMANENT fatal delivery errors!\n\n"
        b"After one or more unsuccessful delivery attempts the attached message has\n"
        b"been removed from the mail queue on this server.\n\n"
        b"--m1\nContent-Type: message/rfc822\n\n"
        b"From: sender@example.com\nTo: gone.user@example.org\nSubject: Hello\n"
        b"Message-ID: <m2@example.com>\n\nHello\n--m1--\n")
    [r] = parse(data).recipients
    assert r.recipient == "gone.user@example.org"
    assert r.original_message_id == "m2@example.com"
    assert "PERMANENT fatal delivery errors" in r.diagnostic


def test_a_bounce_naming_the_recipient_only_in_its_subject():
    data = (b"From: postmaster@mail.example.org\nTo: sender@example.com\n"
            b"Subject: Warning: could not send message to lost.person@example.org - User unknown!\n\n"
            b"Your message could not be delivered.\n\nPlease contact postmaster@mail.example.org for help.\n")
    [r] = parse(data).recipients
    assert r.recipient == "lost.person@example.org"
    assert "User unknown" in r.diagnostic
    assert r.verdict.reason == "userunknown"


def test_final_and_original_recipient_are_both_kept():
    data = _report(
        "Original-Recipient: rfc822;Alias@Example.ORG\nFinal-Recipient: rfc822; mailbox7@store.example.org\n"
        "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n")
    [r] = parse_recipients(data)
    assert r.recipient == r.final_recipient == "mailbox7@store.example.org"
    assert r.original_recipient == "alias@example.org"
    assert r.sent_to == "alias@example.org"
    [r] = parse_recipients(_report("Final-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.1.1\n"))
    assert (r.original_recipient, r.sent_to) == (None, "a@example.org")


def test_a_multi_line_diagnostic_code_is_kept_whole():
    data = _report(
        "Final-Recipient: rfc822; nobody@example.org\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\n"
        "\tnot exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550 5.1.1 unnecessary spaces. x1-20020a05 - gsmtp\n")
    [r] = parse_recipients(data)
    assert r.diagnostic == ("550-5.1.1 The email account that you tried to reach does not exist. Please try "
                            "550-5.1.1 double-checking the recipient's email address for typos or "
                            "550 5.1.1 unnecessary spaces. x1-20020a05 - gsmtp")


@pytest.mark.parametrize("value, address", [
    ("rfc822; <Alice@Example.ORG>", "alice@example.org"),
    ('rfc822;"bob@example.org"', "bob@example.org"),
    ("smtp=carol@example.org", "carol@example.org"),
    ("SMTP:dave@example.org", "dave@example.org"),
    ("'eve@example.org'.", "eve@example.org"),
    ("x400; /G=Jo/S=Doe/RFC-822=jo.doe(a)example.org/O=Org/", "jo.doe@example.org"),
    ("rfc822; IMCEASMTP-fred+40example+2Eorg@gw.example.local", "fred@example.org"),
    ("x400; c=US;a= ;p=Org;o=Ex;dda:SMTP=gina@example.org;", "gina@example.org"),
    ("rfc822; kijitora", None),
])
def test_addresses_are_normalised(value, address):
    assert clean_address(value) == address


def test_prefixed_and_quoted_addresses_in_the_text_are_normalised():
    data = _text_bounce("Your message could not be delivered to the following recipients:\n\n"
                        "    'Lost@Example.ORG'\n    smtp=gone@example.org\n\n550 5.1.1 User unknown\n")
    assert _addresses(data) == ["lost@example.org", "gone@example.org"]


@pytest.mark.parametrize("body", [
    # Postfix bounce(8): "<final> (expanded from <alias>): host ... said: ..."
    "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your message "
    "could not\nbe delivered to one or more recipients.\n\n                   The mail system\n\n"
    "<box7@store.example.org> (expanded from <alias@example.org>): host\n    mx.store.example.org[192.0.2.9] "
    "said: 550 5.1.1 <box7@store.example.org>:\n    Recipient address rejected: User unknown "
    "(in reply to RCPT TO command)\n",
    # Sendmail: "(expanded from: <alias>)" under the failed address
    "   ----- The following addresses had permanent fatal errors -----\n<box7@store.example.org>\n"
    "    (reason: 550 5.1.1 <box7@store.example.org>... User unknown)\n"
    "    (expanded from: <alias@example.org>)\n",
])
def test_an_expanded_alias_is_the_original_recipient_not_a_second_recipient(body):
    [r] = parse(_text_bounce(body)).recipients
    assert (r.recipient, r.original_recipient, r.sent_to) == (
        "box7@store.example.org", "alias@example.org", "alias@example.org")


def test_the_notices_own_addressee_greeted_is_not_taken_as_the_recipient():
    # Nothing but the bounce's own addressee is named, in a greeting: no recipient, not the sender.
    data = _text_bounce("Bonjour sender@example.com,\n\nthe group you tried to reach may not exist, or "
                        "you may not have permission to post to it.\n",
                        subject="Delivery Status Notification (Failure)")
    result = parse(data)
    assert result.recipients == [] and result.problem


def test_a_block_without_action_but_with_a_success_status_is_not_a_bounce():
    data = _report("Final-Recipient: rfc822; fine@example.org\nStatus: 2.0.0\n\n"
                   "Final-Recipient: rfc822; gone@example.org\nStatus: 5.1.1\n"
                   "Diagnostic-Code: smtp; 550 5.1.1 no such user\n")
    assert [r.recipient for r in parse_recipients(data)] == ["gone@example.org"]


def test_a_person_writing_about_a_rejection_is_not_a_subject_only_bounce():
    data = (b"From: hr@example.com\nTo: me@example.net\n"
            b"Subject: Re: your application to jobs@example.org was rejected\n\n"
            b"We chose another candidate.\n")
    assert parse(data).recipients == []


# -- Google Groups refusal notice (synthetic, in Google's published wording) ------------------------
def _google_groups_notice(body: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>"
    m["To"] = "poster@example.com"
    m["Subject"] = "Delivery Status Notification (Failure)"
    m["X-Failed-Recipients"] = "somegroup@googlegroups.com"
    m.set_content(body + "\n\n----- Original message -----\n\nFrom: poster@example.com\n"
                  "To: somegroup@googlegroups.com\nSubject: hi\n\nhello\n")
    return m.as_bytes()


@pytest.mark.parametrize("body", [
    "Hello poster@example.com,\n\nWe're writing to let you know that the group you tried to contact "
    "(somegroup) may not exist, or you may not have permission to post messages to the group.\n\n"
    " * You may need to join the group before receiving permission to post.\n\nIf you have questions, "
    "visit the Help Center at https://groups.google.com/support/.\n\nThanks,\n\nGoogle Groups",
    # any language: the help-centre link is the same
    "Hallo poster@example.com,\n\nDie Gruppe (somegroup) existiert eventuell nicht.\n\n"
    "Besuchen Sie https://groups.google.com/support/.\n\nGoogle Groups",
])
def test_google_groups_refusal_is_a_soft_sender_rejection(body):
    [r] = parse(_google_groups_notice(body)).recipients
    assert r.recipient == "somegroup@googlegroups.com"
    assert "groups.google.com/support" in r.diagnostic
    assert (r.verdict.bounce, r.verdict.reason) == ("soft", "rejected")
    assert r.verdict.evidence == "text:google-groups-post-refused"


def test_sendmail_transcript_with_several_recipients_gives_each_its_own_result_lines():
    m = EmailMessage()
    m["From"] = "Mail Delivery Subsystem <MAILER-DAEMON@relay.example.com>"
    m["To"] = "sender@example.com"
    m["Subject"] = "Returned mail: see transcript for details"
    m.set_content(
        "The original message was received from sender@example.com\n\n"
        "   ----- Transcript of session follows -----\n"
        "550 gone.example.net (smtp)... 550 Host unknown\n"
        "554 <a@gone.example.net>... 550 Host unknown (Authoritative answer from name server)\n"
        "While talking to mx.example.org:\n"
        ">>> RCPT To:<b@example.org>\n"
        "<<< 550 No such user here\n"
        "550 <b@example.org>... User unknown\n"
        "While talking to mx.example.edu:\n"
        ">>> EHLO relay.example.com\n"
        "<<< 421 mx.example.edu Service refused\n"
        "554 <c@example.edu>... Service refused\n\n"
        "   ----- Unsent message follows -----\n"
        "From: sender@example.com\nTo: a@gone.example.net, b@example.org, c@example.edu\nSubject: x\n\nhi\n")
    rs = {r.recipient: r for r in parse(m.as_bytes()).recipients}
    assert set(rs) == {"a@gone.example.net", "b@example.org", "c@example.edu"}
    assert (rs["a@gone.example.net"].verdict.reason, rs["a@gone.example.net"].verdict.bounce) == \
        ("hostunknown", "hard")
    assert "Service refused" not in rs["a@gone.example.net"].diagnostic
    assert rs["b@example.org"].verdict.reason == "userunknown"
    assert rs["c@example.edu"].verdict.reason == "blocked"
