"""The bounce classifier on hand-written cases: one or more per rule family and per guard."""

import time

import pytest

from pipelines.bounces import rules as R
from pipelines.bounces.classify import Verdict, classify, find_command, find_reply_code, find_status


def c(status=None, diagnostic=None, **kw) -> Verdict:
    return classify(status=status, diagnostic=diagnostic, **kw)


# -- the hard/soft rule -------------------------------------------------------------------------
def test_user_unknown_is_hard_even_with_a_4xx_code():
    v = c("4.1.1", "smtp; 450 4.1.1 <a@example.org>: Recipient address rejected: User unknown")
    assert (v.bounce, v.reason, v.status, v.signal) == ("hard", "userunknown", "4.1.1", "status-code")


def test_spam_rejection_with_5xx_is_soft():
    v = c("5.7.1", "smtp; 550 5.7.1 Message rejected as spam by Content Filtering")
    assert (v.bounce, v.reason, v.signal) == ("soft", "spamdetected", "text:spamdetected")


@pytest.mark.parametrize(("status", "diagnostic", "bounce"), [
    ("5.1.10", "550 5.1.10 Domain example.org does not accept mail (nullMX)", "hard"),
    ("4.7.27", "450 4.7.27 Domain example.org does not accept mail (nullMX)", "soft"),
    (None, "this domain does not accept any mail", "hard"),
    (None, "this domain does not accept any mail, temporarily", "soft"),
])
def test_notaccept_is_hard_only_when_permanent(status, diagnostic, bounce):
    v = c(status, diagnostic)
    assert (v.reason, v.bounce) == ("notaccept", bounce)


def test_hard_reasons_are_exactly_the_documented_ones():
    assert {"userunknown", "hostunknown", "hasmoved"} == R.HARD_REASONS
    for reason in ("blocked", "policyviolation", "authfailure", "expired", "onhold", "undefined",
                   "suppressed", "onaccountsuppressionlist", "mailboxfull", "suspend"):
        assert c("5.0.0", None, ses_bounce_type="Permanent", ses_bounce_subtype="General").bounce == "soft"
        assert reason not in R.HARD_REASONS


# -- (a) SES bounceType / bounceSubType ----------------------------------------------------------
def test_ses_on_account_suppression_list():
    v = c(None, "Amazon SES did not send the message to this address because it is on the suppression "
                "list for your account.", ses_bounce_type="Permanent",
          ses_bounce_subtype="OnAccountSuppressionList")
    assert (v.bounce, v.reason, v.signal) == ("soft", "onaccountsuppressionlist", "ses-subtype")


def test_ses_global_suppression():
    v = c(None, None, ses_bounce_type="Permanent", ses_bounce_subtype="Suppressed")
    assert (v.reason, v.signal) == ("suppressed", "ses-subtype")


def test_ses_transient_mailbox_full():
    v = c("4.2.2", "smtp; 452 4.2.2 mailbox full", ses_bounce_type="Transient",
          ses_bounce_subtype="MailboxFull")
    assert (v.bounce, v.reason, v.status, v.signal) == ("soft", "mailboxfull", "4.2.2", "ses-subtype")


def test_ses_general_is_decided_from_the_recipient_status_and_text():
    v = c("5.1.1", "smtp; 550 5.1.1 user unknown", ses_bounce_type="Permanent", ses_bounce_subtype="General")
    assert (v.bounce, v.reason, v.signal) == ("hard", "userunknown", "status-code")
    v = c("5.7.1", "smtp; 550 5.7.1 blocked using zen.spamhaus.org", ses_bounce_type="Permanent",
          ses_bounce_subtype="General")
    assert (v.bounce, v.reason) == ("soft", "blocked")


def test_unknown_ses_subtype_is_decided_from_the_text():
    v = c(None, "smtp; 550 5.2.2 The recipient's mailbox is full", ses_bounce_type="Transient",
          ses_bounce_subtype="SomethingNew")
    assert (v.reason, v.status, v.signal) == ("mailboxfull", "5.2.2", "status-code")
    v = c(None, "smtp; 550 the account has been disabled", ses_bounce_type="Permanent",
          ses_bounce_subtype="UnheardOf")
    assert (v.bounce, v.reason, v.signal) == ("soft", "suspend", "text:suspend")


# -- (b) enhanced status codes -------------------------------------------------------------------
@pytest.mark.parametrize(("status", "reason"), [
    ("5.1.1", "userunknown"), ("5.1.2", "hostunknown"), ("5.1.6", "hasmoved"), ("5.2.2", "mailboxfull"),
    ("4.2.2", "mailboxfull"), ("5.2.3", "exceedlimit"), ("5.3.4", "mesgtoobig"), ("5.4.4", "hostunknown"),
    ("4.4.7", "expired"), ("5.7.26", "authfailure"), ("5.7.25", "requireptr"), ("5.7.27", "notaccept"),
    ("5.1.8", "rejected"), ("5.5.3", "toomanyconn"),
])
def test_decisive_codes(status, reason):
    v = c(status, "smtp; 550 nothing a text rule knows")
    assert (v.reason, v.signal) == (reason, "status-code")


def test_vague_codes_defer_to_the_text():
    assert c("5.0.0", "550 Mailbox full").reason == "mailboxfull"
    assert c("5.7.1", "553 Invalid recipient x@example.org").reason == "userunknown"
    assert c("5.2.0", "550 5.2.0 Message rejected: spam").reason == "spamdetected"
    assert c("5.5.0", "550 5.5.0 user unknown").reason == "userunknown"


def test_weak_code_is_the_fallback_when_the_text_says_nothing():
    v = c("5.7.0", "554 5.7.0 no")
    assert (v.reason, v.signal) == ("securityerror", "status-code")


def test_status_is_taken_from_the_text_when_missing_and_normalised():
    text = "smtp; 550-5.1.1 The email account that you tried to reach does not exist"
    assert c(None, text).status == "5.1.1"
    assert c("5.0.0 (permanent failure)", "550 #5.1.1 no such user").status == "5.1.1"
    assert c(None, "connect to 192.0.2.25: Connection timed out").status is None
    assert find_status("host [203.0.5.4.4.1]") is None
    assert find_status("Exim 4.72") is None


def test_the_servers_own_code_beats_a_relays_generic_status():
    v = c("5.1.1", "SMTP; 550 5.7.1 IP address blacklisted by recipient")
    assert (v.status, v.reason, v.bounce) == ("5.7.1", "blocked", "soft")


# -- guards between code and text -----------------------------------------------------------------
def test_5_1_1_whose_text_names_a_block_is_not_user_unknown():
    assert c("5.1.1", "550 5.1.1 Service unavailable; client host blocked using zen.spamhaus.org").reason \
        == "blocked"


def test_5_4_4_with_a_dns_error_is_a_network_error():
    v = c("5.4.4", "X-Postfix; Name service error for name=example.org type=MX: Malformed or unexpected "
                   "name server reply")
    assert (v.reason, v.bounce) == ("networkerror", "soft")


def test_5_2_1_user_unknown_is_filtered_unless_refused_at_rcpt():
    text = "550 5.2.1 <a@example.org>... User Unknown"
    assert c("5.2.1", text).reason == "filtered"
    assert c("5.2.1", text, smtp_command="RCPT").reason == "userunknown"
    assert c("5.2.1", text + " (in reply to RCPT TO command)").reason == "userunknown"


def test_5_2_1_disabled_is_suspend():
    v = c("5.2.1", "550-5.2.1 The email account that you tried to reach is disabled.")
    assert (v.reason, v.bounce) == ("suspend", "soft")


def test_x_unix_diagnostics_are_mailer_errors_unless_the_disk_is_full():
    text = "x-unix; procmail: Couldn't create \"/var/mail/u\": No such user"
    assert c("5.1.1", text).reason == "mailererror"
    assert c("4.3.0", "x-unix; /home/u/Maildir/tmp/1.2: Disk quota exceeded").reason == "mailboxfull"


# -- (c) reply codes, SMTP command, fallbacks ----------------------------------------------------
def test_reply_code_hints():
    assert c(None, "503 Improper sequence").reason == "syntaxerror"
    v = c(None, "451 Could not load DRD for domain")
    assert (v.reason, v.signal) == ("systemerror", "reply-code")
    assert c(None, "zzz", reply_code="552").reason == "mailboxfull"


def test_smtp_command_decides_when_the_text_does_not():
    assert c("5.0.0", "550 Rejected", smtp_command="EHLO").reason == "blocked"
    assert c("5.7.0", "550 5.7.0 Please talk to your admin", smtp_command="MAIL").reason == "rejected"
    assert c(None, "550 Access denied", smtp_command="CONN").reason == "blocked"


def test_user_unknown_text_at_a_non_recipient_stage():
    assert c("5.0.0", "550 Unknown user a@example.org (in reply to end of DATA command)").reason == "filtered"
    assert c(None, "550 5.1.0 <me@example.com>... User unknown", smtp_command="MAIL").reason == "rejected"
    assert c("5.1.1", "550 5.1.1 <me@example.com>... User unknown", smtp_command="MAIL FROM").reason \
        == "rejected"
    # After DATA a decisive 5.1.1 stands (a filter re-checking recipients); vague text does not.
    assert c("5.1.1", "550 5.1.1 User unknown", smtp_command="DATA").reason == "userunknown"


def test_delayed_action_is_soft_expired():
    v = c("4.4.7", "Delivery delayed; will retry", action="delayed")
    assert (v.bounce, v.reason) == ("soft", "expired")
    v = c("4.0.0", None, action="delayed")
    assert (v.bounce, v.reason, v.signal) == ("soft", "expired", "action")
    # A specific soft reason is kept; a hard one is not final while the MTA still retries.
    assert c("4.2.2", "452 4.2.2 mailbox full", action="delayed").reason == "mailboxfull"
    assert c("4.1.1", "450 4.1.1 user unknown", action="delayed").bounce == "soft"


def test_onhold_and_undefined():
    assert (c(None, "something odd happened").reason, c(None, None).reason) == ("onhold", "undefined")
    assert c(None, "something odd happened").signal == "fallback"


# -- (d) text patterns, order --------------------------------------------------------------------
@pytest.mark.parametrize(("text", "reason"), [
    ("552 Mailbox is full", "mailboxfull"),
    ("User unknown or mailbox full", "mailboxfull"),
    ("550 Message size exceeds fixed maximum message size", "mesgtoobig"),
    ("550 User kijitora temporary locked", "suspend"),
    ("The user(s) account is disabled. 550 user unknown", "suspend"),
    ("551 User not local; please try <a@b.example>", "hasmoved"),
    ("554 5.7.1 <a@b.example>: Relay access denied", "norelaying"),
    ("553 sorry, that domain isn't in my list of allowed rcpthosts", "norelaying"),
    ("550 Sender address rejected: Domain not found", "rejected"),
    ("550 5.7.1 Unauthenticated email from example.jp is not accepted due to domain's DMARC policy",
     "authfailure"),
    ("550 Client host rejected: cannot find your hostname", "requireptr"),
    ("550 5.7.1 Messages with multiple addresses in From: header are not accepted", "notcompliantrfc"),
    ("550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", "userunknown"),
    ("550 sorry, no mailbox here by that name", "userunknown"),
    ("User some.name (a@example.jp) not listed in Domino Directory", "userunknown"),
    ("550 Host unknown (Authoritative answer from name server)", "hostunknown"),
    ("Name service error for domain example.com: Host not found, try again", "networkerror"),
    ("Sorry, I couldn't find a mail exchanger or IP address", "notaccept"),
    ("554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked"),
    ("550 Your IP has a poor reputation", "badreputation"),
    ("554 5.7.1 Message content rejected, UBE", "spamdetected"),
    ("554 5.7.9 Message not accepted for policy reasons", "policyviolation"),
    ("552 5.7.0 This message was blocked because its content presents a potential security issue",
     "policyviolation"),
    ("550 Virus detected in message", "virusdetected"),
    ("550 5.7.1 Access denied", "rejected"),
    ("421 Too many concurrent SMTP connections", "toomanyconn"),
    ("550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents", "speeding"),
    ("554 5.6.0 Duplicate header", "contenterror"),
    ("550 5.3.5 Internal System Error", "systemerror"),
    ("delivery retry timeout exceeded", "expired"),
    ("Resources temporarily unavailable [#4.1.9]. I'm not going to try again; this message has been in "
     "the queue too long.", "expired"),
    ("connect to example.org[192.0.2.1]:25: Connection timed out", "expired"),
])
def test_text_patterns(text, reason):
    assert c(None, text).reason == reason


def test_google_recipient_domain_wording_is_not_a_recipient_filter():
    text = ("Google tried to deliver your message, but it was rejected by the recipient domain. "
            "550 5.7.1 Our system has detected that this message is likely unsolicited mail.")
    assert c(None, text).reason == "spamdetected"


def test_every_reason_named_in_the_rules_exists():
    named = {r for r, _ in R.TEXT_RULES} | {r for r, _ in R.STATUS_CODES.values()}
    named |= set(R.REPLY_CODES.values()) | set(R.COMMAND_REASONS.values())
    named |= {v for v in R.SES_SUBTYPES.values() if v} | {g[1] for g in R.COMMAND_GUARDS.values()}
    assert named <= set(R.REASONS)


# -- helpers and speed ---------------------------------------------------------------------------
def test_helpers():
    assert find_reply_code("host mx.example.org [192.0.2.1]: 550-5.7.26 Unauthenticated") == "550"
    assert find_reply_code("ofr_506 [506]") is None
    assert find_command("SMTP error from remote mail server after RCPT TO:<a@b.example>:") == "RCPT"
    assert find_command(">>> MAIL From:<a@b.example> SIZE=3\n<<< 550 no") == "MAIL"
    assert find_command("host x refused to talk to me: 554 go away") == "CONN"
    assert find_command("nothing") is None


def test_fast_enough_for_large_batches():
    start = time.perf_counter()
    for i in range(5000):
        c("5.1.1", f"smtp; 550 5.1.1 <user{i}@example.org>: Recipient address rejected: User unknown")
    for _ in range(50000):
        c("5.7.1", "smtp; 550 5.7.1 Message rejected as spam")  # cached
    assert time.perf_counter() - start < 3.0
