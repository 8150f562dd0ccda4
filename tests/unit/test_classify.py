"""The bounce classifier on hand-written cases: one or more per rule family and per guard."""

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


def test_ses_global_suppression_is_hard():
    # The global list holds addresses that recently hard-bounced; SES counts these toward the
    # bounce rate, so the action must be "stop mailing it" (rules.SES_SUBTYPES comment).
    v = c(None, None, ses_bounce_type="Permanent", ses_bounce_subtype="Suppressed")
    assert (v.bounce, v.reason, v.signal, v.evidence) == ("hard", "suppressed", "ses-subtype",
                                                          "ses:Permanent/Suppressed")
    assert "suppressed" not in R.HARD_REASONS  # hard because of the SES table, not the reason


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
    v = c("5.7.9", "554 5.7.9 no")
    assert (v.reason, v.signal, v.evidence) == ("securityerror", "status-code", "status:5.7.9")


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
    named |= {v[0] for v in R.SES_SUBTYPES.values() if v[0]} | {g[1] for g in R.COMMAND_GUARDS.values()}
    named |= {reason for _, reason, _, _ in R.PUBLISHED_TEXTS}
    assert named <= set(R.REASONS)


# -- helpers and speed ---------------------------------------------------------------------------
def test_helpers():
    assert find_reply_code("host mx.example.org [192.0.2.1]: 550-5.7.26 Unauthenticated") == "550"
    assert find_reply_code("ofr_506 [506]") is None
    assert find_command("SMTP error from remote mail server after RCPT TO:<a@b.example>:") == "RCPT"
    assert find_command(">>> MAIL From:<a@b.example> SIZE=3\n<<< 550 no") == "MAIL"
    assert find_command("host x refused to talk to me: 554 go away") == "CONN"
    assert find_command("nothing") is None


def test_identical_signals_are_judged_once():
    # Speed is bench/'s to measure; what makes a large batch cheap is that a repeated signal (common
    # across 100k+ rows) is served from the cache, not judged again.
    from pipelines.bounces import classify as module

    module._classify.cache_clear()
    first = c("5.7.1", "smtp; 550 5.7.1 Message rejected as spam")
    for _ in range(1000):
        assert c("5.7.1", "smtp; 550 5.7.1 Message rejected as spam") == first
    info = module._classify.cache_info()
    assert (info.misses, info.hits) == (1, 1000)


# -- issue 12: vague codes, decisive codes, expiry ------------------------------------------------
@pytest.mark.parametrize("status", ["5.0.0", "5.5.0", "4.0.0", "4.3.0", "4.4.0"])
def test_vague_codes_carry_no_reason_of_their_own(status):
    v = c(status, f"550 {status} something unusual")
    assert (v.reason, v.evidence) == ("onhold", "fallback")


def test_explicit_text_beats_a_vague_5_5_0():
    v = c("5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable")
    assert (v.reason, v.bounce) == ("userunknown", "hard")


def test_size_beats_a_decisive_5_1_1():
    v = c("5.1.1", "552 max message size exceeded")
    assert (v.reason, v.bounce, v.evidence) == ("mesgtoobig", "soft", "text:size-limit")


def test_decisive_code_beats_vague_text():
    v = c("5.1.1", "550 5.1.1 rejected")
    assert (v.reason, v.evidence) == ("userunknown", "status:5.1.1")
    assert c("5.2.2", "552 5.2.2 message refused").reason == "mailboxfull"


def test_temporary_code_after_many_attempts_is_expiry_not_a_dead_host():
    v = c("4.4.4", "temporary server error, gave up after 30 attempts")
    assert (v.reason, v.bounce, v.evidence) == ("expired", "soft", "text:gave-up")
    v = c("4.4.4", "unable to route: no mx for example.org (retry timeout exceeded)")
    assert (v.reason, v.bounce) == ("expired", "soft")
    # a permanent 5.4.4 stays a dead host; a temporary one without give-up wording too
    assert c("5.4.4", "unable to route after 3 attempts").reason == "hostunknown"
    assert c("4.4.4", "unable to route").reason == "hostunknown"
    # a specific soft cause the text names is kept
    assert c("4.2.2", "452 4.2.2 mailbox full; after 12 attempts").reason == "mailboxfull"


def test_give_up_wording_next_to_a_permanent_reply_is_not_the_reason():
    text = "Remote host said: 550 5.0.0 Invalid domain name I'm not going to try again"
    assert c(None, text).reason == "hostunknown"
    assert c(None, "421 busy. I'm not going to try again; in the queue too long").reason == "expired"


def test_delayed_with_only_a_reply_code_is_expired():
    v = c(None, "host example.org not reachable, ResponseCode 421", action="delayed")
    assert (v.reason, v.evidence) == ("expired", "action:delayed")


def test_bare_temporary_failure_says_nothing():
    assert c("4.0.0", "450 4.0.0 Temporary failure").reason == "onhold"
    assert c(None, "451 4.3.0 Temporary local problem - please try later").reason == "systemerror"


# -- issue 12: published wordings (rules.PUBLISHED_TEXTS), one case per row ------------------------
PUBLISHED_CASES = [
    ("4.0.0", "451 4.0.0 Operating system error", "mailererror", "sendmail-sysexits-oserr"),
    (None, "<a@example.org>... 451 4.0.0 I/O error", "mailererror", "sendmail-sysexits-oserr"),
    ("5.5.0", "554 IP=198.51.100.7 - A problem occurred. (Ask your postmaster for help or to contact "
              "postmaster@example.net to clarify.) (BL)", "blocked", "t-online-bl"),
    (None, "the group you tried to contact (g) may not exist, or you may not have permission to post "
           "messages to the group", "rejected", "google-groups-post-refused"),
    (None, "Visit the Help Center at https://groups.google.com/support/", "rejected",
     "google-groups-post-refused"),
    (None, "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1) I'm not going to try again; "
           "this message has been in the queue too long.", "networkerror", "qmail-no-connection"),
    ("5.0.0", "pipe to |/usr/bin/handler a@example.org generated by a@example.org: exit 1", "mailererror",
     "exim-pipe"),
    ("5.7.1", "552 5.7.1 Message is larger than the maximum allowed", "mesgtoobig", "size-limit"),
    ("4.5.3", "452 4.5.3 too many messages on the server for this user", "mailboxfull",
     "mailbox-message-quota"),
    (None, "552 recipient's mailbox quota would be exceeded", "mailboxfull", "mailbox-message-quota"),
    ("4.7.650", "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
     "reputation", "badreputation", "ms-ip-reputation"),
    ("4.7.0", "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints",
     "badreputation", "yahoo-tss04"),
    ("5.7.1", "550 5.7.1 rejected because of the sender's domain reputation", "badreputation", "reputation"),
    ("5.7.1", "554 5.7.1 message rejected: body URL listed in multi.uribl.com", "spamdetected",
     "uri-blocklist"),
    ("5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "userunknown", "ms-dbeb"),
    ("5.7.1", "550 5.7.1 <a@example.org> is not a known user on this system", "userunknown",
     "not-known-user"),
    ("5.7.1", "550 5.7.1 User not known", "userunknown", "not-known-user"),
    ("5.7.1", "550 5.7.1 Unknown E-Mail Address", "userunknown", "not-known-user"),
    ("5.7.1", "550 5.7.1 Nonexistent user", "userunknown", "not-known-user"),
    ("5.7.1", "550 5.7.1 No account by that name here", "userunknown", "no-account"),
    ("5.7.1", "550 5.7.1 No mail box available for this user", "userunknown", "no-account"),
    ("5.7.1", "550 5.7.1 BAD_RECIPIENT", "userunknown", "no-account"),
    ("5.7.1", "550 5.7.1 Recipient does not exist", "userunknown", "no-account"),
    ("5.0.0", "550 <a@example.org> does not exist", "userunknown", "address-does-not-exist"),
    (None, "553 mx.example.org does not exist", "hostunknown", "host-does-not-exist"),
    (None, "all relevant MX records point to non-existent hosts", "hostunknown", "exim-mx-nonexistent"),
    (None, "an MX or SRV record indicated no SMTP service", "notaccept", "exim-null-mx"),
    ("5.5.0", "550 5.5.0 The recipient account is blocked", "suspend", "recipient-account-blocked"),
    ("5.0.0", "550 Ip frequency limited", "toomanyconn", "qq-frequency"),
    ("5.7.1", "550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP", "blocked",
     "ms-ip-not-accepted"),
    ("4.7.28", "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from "
     "your IP address", "blocked", "gmail-unusual-rate"),
    ("5.7.1", "550-5.7.1 The IP you're using to send mail is not authorized to send email directly to our "
     "servers", "blocked", "gmail-ip-not-authorized"),
    ("5.7.2", "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred", "blocked",
     "yahoo-permanently-deferred"),
    ("5.5.2", "504 5.5.2 <h>: Helo command rejected: need fully-qualified hostname", "blocked",
     "postfix-helo-rejected"),
    (None, "550 this message has a potentially executable attachment", "virusdetected",
     "exim-executable-attachment"),
    (None, 'Too many "Received" headers - suspected mail loop', "networkerror", "exim-received-loop"),
    ("5.7.520", "550 5.7.520 Access denied, Your organization does not allow external forwarding",
     "policyviolation", "ms-external-forwarding"),
    (None, "550 Rejected by header based Anti-Spoofing policy", "policyviolation", "anti-spoofing-policy"),
    ("5.2.0", "550 5.2.0 Mail rejete. Mail rejected. ofr_506 [506]", "spamdetected", "orange-ofr-506"),
]


@pytest.mark.parametrize(("status", "text", "reason", "pattern_id"), PUBLISHED_CASES)
def test_published_wordings(status, text, reason, pattern_id):
    v = c(status, text)
    assert (v.reason, v.evidence) == (reason, f"text:{pattern_id}")


def test_every_published_row_has_a_test_and_one_line_of_evidence():
    assert {row[0] for row in R.PUBLISHED_TEXTS} <= {case[3] for case in PUBLISHED_CASES}
    for pid, _reason, _rx, evidence in R.PUBLISHED_TEXTS:
        assert evidence and "\n" not in evidence, pid


def test_spam_and_blocklist_under_5_7_x_are_not_securityerror():
    assert c("5.7.1", "554 5.7.1 Message rejected: spam").reason == "spamdetected"
    assert c("5.7.1", "554 5.7.1 Service unavailable; client host blocked using a DNSBL").reason == "blocked"
    assert c("5.7.1", "554 5.7.1 your IP is on our blocklist").reason == "blocked"


def test_too_many_connections_is_still_toomanyconn():
    assert c("4.7.0", "421 4.7.0 Too many concurrent SMTP connections").reason == "toomanyconn"


def test_sender_from_domain_invalid_is_rejected():
    v = c("5.2.0", "550 5.2.0 <s@example.net> From: Domain is invalid. Please provide a valid From:")
    assert (v.reason, v.bounce) == ("rejected", "soft")


def test_qmail_stage_wordings_give_the_smtp_command():
    assert find_command("192.0.2.1 does not like recipient. Remote host said: 550 no") == "RCPT"
    assert find_command("Connected to 192.0.2.1 but sender was rejected.") == "MAIL"
    assert find_command("Connected to 192.0.2.1 but my name was rejected.") == "EHLO"
    assert find_command("192.0.2.1 failed after I sent the message.") == "DATA"
    v = c("5.2.1", "192.0.2.1 does not like recipient. Remote host said: 550 5.2.1 user unknown")
    assert (v.reason, v.bounce) == ("userunknown", "hard")


# -- the evidence field ------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "evidence"), [
    ({"status": "5.1.1", "diagnostic": "550 5.1.1 nothing"}, "status:5.1.1"),
    ({"status": None, "diagnostic": "550 Mailbox is full"}, "text:mailboxfull"),
    ({"status": None, "diagnostic": "zzz", "reply_code": "552"}, "reply:552"),
    ({"status": "5.0.0", "diagnostic": "550 Rejected", "smtp_command": "EHLO"}, "command:EHLO"),
    ({"status": "5.1.1", "diagnostic": "x-unix; procmail failed"}, "diagnostic-type:x-unix"),
    ({"status": "5.7.0", "diagnostic": "554 5.7.0 no"}, "class:5.7"),
    ({"status": "4.0.0", "diagnostic": None, "action": "delayed"}, "action:delayed"),
    ({"status": None, "diagnostic": "something odd"}, "fallback"),
    ({"status": None, "diagnostic": None, "ses_bounce_type": "Permanent",
      "ses_bounce_subtype": "OnAccountSuppressionList"}, "ses:Permanent/OnAccountSuppressionList"),
])
def test_evidence_names_the_deciding_signal(kwargs, evidence):
    assert classify(**kwargs).evidence == evidence


def test_google_groups_refusal_is_rejected_not_userunknown():
    v = c(None, "the group you tried to contact (g) may not exist, or you may not have permission to "
                "post messages to the group.")
    assert (v.reason, v.bounce, v.evidence) == ("rejected", "soft", "text:google-groups-post-refused")


# -- expiry versus the stated cause --------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"status": "4.4.7", "diagnostic": "Deferred: Name server: example.org.: host name lookup failure. "
                                       "Message could not be delivered for 5 days"}, "networkerror"),
    ({"status": "4.4.7", "diagnostic": "Message could not be delivered for 5 days: mailbox full"},
     "mailboxfull"),
    ({"status": "4.0.0", "diagnostic": "a@example.org: No MX found for domain. This is only a temporary "
                                       "failure report", "action": "delayed"}, "networkerror"),
    ({"status": "4.4.4", "diagnostic": "host not found; after 30 attempts"}, "networkerror"),
    # a give-up naming no cause stays expiry
    ({"status": "4.4.7", "diagnostic": "Message expired after 3 days; last error: connection timed out"},
     "expired"),
])
def test_a_temporary_failure_keeps_the_cause_it_states(kwargs, reason):
    v = c(**kwargs)
    assert (v.reason, v.bounce) == (reason, "soft")


def test_an_mtas_code_class_label_is_not_read_as_user_unknown():
    v = c("5.0.0", "5.1.0 - Unknown address error 550-'5.7.1 <s@example.com>... Access denied'")
    assert v.bounce == "soft" and v.reason != "userunknown"
    # the remote's own words still decide
    assert c(None, "5.1.0 - Unknown address error 550-'MAILBOX NOT FOUND'").reason == "userunknown"
