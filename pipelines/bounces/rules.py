"""Bounce classification rules, kept as data so that a person can read and extend them.

`pipelines.classify` applies these tables to one bounced recipient; nothing here executes logic
beyond compiling the patterns. Reason names follow the sisimai taxonomy (see the project doc
BOUNCE_TAXONOMY.md), plus Amazon SES's `suppressed` and `onaccountsuppressionlist`. The rules
themselves are this project's own.

How the signals are combined (most trusted first):

1. SES bounceType/bounceSubType (`SES_SUBTYPES`) when the subtype names a reason (and, for the
   global `Suppressed` list, the hard verdict: see the table's comment).
2. Diagnostic-Code of type X-Unix (a local delivery program): `mailererror`, unless the text
   says the mailbox or disk is full.
3. Enhanced status code (`STATUS_CODES`), when it is *decisive*. A decisive code still yields to
   the diagnostic text when the text names a reason listed in `TEXT_BEATS_CODE` for it (a 5.1.1
   whose text says "blacklisted" is a block, not an unknown user).
4. Diagnostic text: first the published wordings (`PUBLISHED_TEXTS`: provider / MTA / registry
   texts, one line of evidence each), then the generic groups (`TEXT_RULES`), first match in list
   order, so the more specific meaning wins (mailbox full before user unknown, RBL listings
   before generic spam wording, ...). The explicit meaning of the text beats a vague code
   (`VAGUE_CODES`: X.0.0, X.3.0, X.4.0, X.5.0, X.7.0, X.7.1) and a weak one; a decisive code beats
   vague text. Next to a permanent (5xx) reply, expiry wording is skipped
   (`NOT_WITH_PERMANENT_REPLY`).
5. The SMTP command at failure (`COMMAND_REASONS`: connect/EHLO -> blocked, MAIL FROM ->
   rejected), then a *weak* code (vague or often misused: 5.2.1, 5.7.0, 5.7.9, ...). Purely
   vague codes (X.0.0, X.7.1) carry no reason at all (`VAGUE_CODES`).
6. Guards on the result: `CODE_TEXT_GUARDS` (user unknown with a 5.2.x code outside RCPT TO is
   `filtered`), `COMMAND_GUARDS` (a recipient-side reason at MAIL FROM / connect / after DATA),
   and `GAVE_UP` (a temporary failure the MTA stopped retrying is `expired`, not a dead host);
   then `STATED_CAUSES`: a temporary failure -- given up on or still retried -- keeps the cause
   its text states (DNS trouble, blocked, mailbox full, ...), `expired` being left for a give-up
   that names none; a dead-host answer to a temporary failure is `networkerror`, never hard.
7. Fallbacks: the code class (`CLASS_FALLBACK`: X.6 contenterror, X.7 securityerror), the reply
   code (`REPLY_CODES`), Action: delayed -> expired; nothing matched: `onhold` when there is a
   diagnostic, `undefined` when there is none.

Hard or soft is derived from the reason afterwards (`HARD_REASONS`, `notaccept` rule), except
where the SES table fixes it. Which signal decided is reported as `Verdict.evidence`
(`ses:<Type>/<Subtype>`, `status:<code>`, `text:<pattern id>`, `text:gave-up`, `command:<CMD>`,
`diagnostic-type:x-unix`, `class:<c>.<s>`, `reply:<code>`, `action:<action>`, `fallback`).
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------------
# Reasons
# --------------------------------------------------------------------------------------------
REASONS: tuple[str, ...] = (
    "userunknown", "mailboxfull", "hostunknown", "hasmoved", "notaccept", "blocked", "filtered",
    "spamdetected", "policyviolation", "virusdetected", "contenterror", "notcompliantrfc",
    "mesgtoobig", "exceedlimit", "authfailure", "requireptr", "badreputation", "securityerror",
    "norelaying", "rejected", "toomanyconn", "speeding", "expired", "networkerror", "systemerror",
    "systemfull", "mailererror", "syntaxerror", "suspend", "failedstarttls", "onhold", "undefined",
    "vacation", "suppressed", "onaccountsuppressionlist",
)

# The address itself is dead: hard whatever the SMTP class (a 450 4.1.1 user unknown is hard).
HARD_REASONS: frozenset[str] = frozenset({"userunknown", "hostunknown", "hasmoved"})
# Null MX / host accepts no mail: hard when the code is 5xx (or no code and nothing says
# temporary), soft when it is 4xx. Everything else is soft, 5xx policy/spam/auth refusals included.
CONDITIONAL_HARD_REASON = "notaccept"
TEMPORARY_TEXT = re.compile(r"temporar|persistent|try again later")

# --------------------------------------------------------------------------------------------
# (a) Amazon SES bounceType / bounceSubType -> reason
# --------------------------------------------------------------------------------------------
# Value: (reason, bounce). reason None means "decide from the recipient's status and diagnostic"
# (generic rules below); bounce None means "derive hard/soft from the reason" (HARD_REASONS).
#
# Permanent/Suppressed -> ("suppressed", "hard"). The address is on SES's *global* suppression
# list: it hard-bounced recently for some SES sender, and SES did not even try it. SES counts
# these toward the account's bounce rate like any hard bounce (SES_REFERENCE.md §2, [D4][D8]).
# The right action is the one for a dead address: stop mailing it. Calling it "soft" would keep
# re-sending to it, each send adding to the bounce rate, so the verdict is hard; the reason
# stays `suppressed` so reports can tell it from a first-hand user-unknown.
# Permanent/OnAccountSuppressionList stays soft: the address is on *our own* account list (put
# there by an earlier hard bounce *or a complaint*), SES excludes it from the bounce rate, and
# sending is already blocked by that list -- the verdict must not re-count an old event as hard.
SES_SUBTYPES: dict[tuple[str, str], tuple[str | None, str | None]] = {
    ("permanent", "suppressed"): ("suppressed", "hard"),
    ("permanent", "onaccountsuppressionlist"): ("onaccountsuppressionlist", "soft"),
    ("permanent", "noemail"): ("userunknown", None),
    ("permanent", "general"): (None, None),
    ("transient", "general"): (None, None),
    ("transient", "mailboxfull"): ("mailboxfull", None),
    ("transient", "messagetoolarge"): ("mesgtoobig", None),
    ("transient", "contentrejected"): ("contenterror", None),
    ("transient", "attachmentrejected"): ("securityerror", None),
    ("undetermined", "undetermined"): (None, None),
}
# A subtype not listed above is kept by the caller and decided from the text and code.

# --------------------------------------------------------------------------------------------
# (b) RFC 3463 enhanced status codes -> reason
# --------------------------------------------------------------------------------------------
# Keys are "subject.detail" (the class digit 4/5 is looked up separately: X.1.1 means both
# 4.1.1 and 5.1.1). Strength "decisive": the code wins over the text except as noted in
# TEXT_BEATS_CODE. Strength "weak": the text wins when it names a reason; the code is the
# fallback. Codes in VAGUE_CODES carry no reason of their own.
#
# | code            | reason          | strength | RFC meaning / note                           |
# |-----------------|-----------------|----------|----------------------------------------------|
# | X.1.1           | userunknown     | decisive | bad destination mailbox address              |
# | X.1.2           | hostunknown     | decisive | bad destination system address               |
# | X.1.3           | userunknown     | decisive | bad destination mailbox address syntax       |
# | X.1.4           | filtered        | weak     | destination mailbox address ambiguous        |
# | X.1.6           | hasmoved        | decisive | mailbox has moved, no forwarding address     |
# | X.1.7, X.1.8    | rejected        | decisive | bad sender mailbox / system address          |
# | X.1.10          | notaccept       | decisive | null MX (RFC 7505); Microsoft also uses it   |
# |                 |                 |          | for "recipient not found" -> text may win    |
# | X.2.0           | filtered        | weak     | vague: mailbox status other/undefined        |
# | X.2.1           | filtered        | weak     | mailbox disabled; text often says suspended  |
# |                 |                 |          | or user unknown (see CODE_TEXT_GUARDS)       |
# | X.2.2           | mailboxfull     | decisive | mailbox full                                 |
# | X.2.3           | exceedlimit     | decisive | message length exceeds administrative limit  |
# | X.2.4           | filtered        | weak     | mailing list expansion problem               |
# | X.3.0           | systemerror     | weak     | vague: mail system other                     |
# | X.3.1           | systemfull      | decisive | mail system full                             |
# | X.3.2           | notaccept       | weak     | system not accepting network messages        |
# | X.3.3, X.3.5    | systemerror     | weak     | features not supported / misconfigured       |
# | X.3.4           | mesgtoobig      | decisive | message too big for system                   |
# | X.4.0           | networkerror    | weak     | vague: network/routing other                 |
# | X.4.1           | expired         | weak     | no answer from host                          |
# | X.4.2           | networkerror    | weak     | bad connection                               |
# | X.4.3           | systemerror     | weak     | directory server failure                     |
# | X.4.4           | hostunknown     | decisive | unable to route (text may say DNS error or   |
# |                 |                 |          | null MX -> networkerror / notaccept)         |
# | X.4.5           | systemfull      | weak     | mail system congestion                       |
# | X.4.6           | networkerror    | decisive | routing loop detected                        |
# | X.4.7           | expired         | decisive | delivery time expired                        |
# | X.5.0           | syntaxerror     | weak     | vague: protocol other                        |
# | X.5.1, X.5.2    | syntaxerror     | weak     | invalid command / syntax error               |
# | X.5.3           | toomanyconn     | decisive | too many recipients                          |
# | X.5.4, X.5.5    | systemerror     | weak     | invalid arguments / wrong protocol version   |
# | X.5.6           | syntaxerror     | weak     | authentication exchange line too long        |
# | X.6.x           | contenterror    | weak     | media / conversion errors                    |
# | X.7.0           | securityerror   | weak     | vague: security other (spam, policy...)      |
# | X.7.1           | (vague)         | -        | "delivery not authorized": 13+ reasons       |
# | X.7.2 - X.7.12  | securityerror   | weak     | auth/encryption/conversion failures; servers |
# |                 |                 |          | reuse them (Yahoo 5.7.9 = policy)            |
# | X.7.13          | suspend         | weak     | user account disabled                        |
# | X.7.14, X.7.15  | securityerror   | weak     | trust relationship / priority too low        |
# | X.7.16          | mesgtoobig      | decisive | message too big for specified priority       |
# | X.7.17, X.7.18  | hasmoved        | decisive | mailbox / domain owner has changed           |
# | X.7.19, X.7.30  | securityerror   | weak     | RRVS / REQUIRETLS                            |
# | X.7.20 - X.7.24 | authfailure     | decisive | DKIM / SPF validation failed (RFC 7372)      |
# | X.7.25          | requireptr      | decisive | reverse DNS validation failed                |
# | X.7.26          | authfailure     | decisive | multiple authentication checks failed        |
# | X.7.27          | notaccept       | decisive | sender address has null MX                   |
# | X.7.28          | spamdetected    | decisive | mail flood detected                          |
# | X.7.29          | authfailure     | decisive | ARC validation failure                       |
# | X.0.0           | (vague)         | -        | nothing: decide from text (17+ reasons)      |
DECISIVE = "decisive"
WEAK = "weak"

STATUS_CODES: dict[str, tuple[str, str]] = {
    "1.1": ("userunknown", DECISIVE),
    "1.2": ("hostunknown", DECISIVE),
    "1.3": ("userunknown", DECISIVE),
    "1.4": ("filtered", WEAK),
    "1.6": ("hasmoved", DECISIVE),
    "1.7": ("rejected", DECISIVE),
    "1.8": ("rejected", DECISIVE),
    "1.10": ("notaccept", DECISIVE),
    "2.0": ("filtered", WEAK),
    "2.1": ("filtered", WEAK),
    "2.2": ("mailboxfull", DECISIVE),
    "2.3": ("exceedlimit", DECISIVE),
    "2.4": ("filtered", WEAK),
    "3.0": ("systemerror", WEAK),
    "3.1": ("systemfull", DECISIVE),
    "3.2": ("notaccept", WEAK),
    "3.3": ("systemerror", WEAK),
    "3.4": ("mesgtoobig", DECISIVE),
    "3.5": ("systemerror", WEAK),
    "4.0": ("networkerror", WEAK),
    "4.1": ("expired", WEAK),
    "4.2": ("networkerror", WEAK),
    "4.3": ("systemerror", WEAK),
    "4.4": ("hostunknown", DECISIVE),
    "4.5": ("systemfull", WEAK),
    "4.6": ("networkerror", DECISIVE),
    "4.7": ("expired", DECISIVE),
    "5.0": ("syntaxerror", WEAK),
    "5.1": ("syntaxerror", WEAK),
    "5.2": ("syntaxerror", WEAK),
    "5.3": ("toomanyconn", DECISIVE),
    "5.4": ("systemerror", WEAK),
    "5.5": ("systemerror", WEAK),
    "5.6": ("syntaxerror", WEAK),
    **{f"6.{n}": ("contenterror", WEAK) for n in range(0, 11)},
    "7.0": ("securityerror", WEAK),
    **{f"7.{n}": ("securityerror", WEAK) for n in range(2, 13)},
    "7.13": ("suspend", WEAK),
    "7.14": ("securityerror", WEAK),
    "7.15": ("securityerror", WEAK),
    "7.16": ("mesgtoobig", DECISIVE),
    "7.17": ("hasmoved", DECISIVE),
    "7.18": ("hasmoved", DECISIVE),
    "7.19": ("securityerror", WEAK),
    "7.20": ("authfailure", DECISIVE),
    "7.21": ("authfailure", DECISIVE),
    "7.22": ("authfailure", DECISIVE),
    "7.23": ("authfailure", DECISIVE),
    "7.24": ("authfailure", DECISIVE),
    "7.25": ("requireptr", DECISIVE),
    "7.26": ("authfailure", DECISIVE),
    "7.27": ("notaccept", DECISIVE),
    "7.28": ("spamdetected", DECISIVE),
    "7.29": ("authfailure", DECISIVE),
    "7.30": ("securityerror", WEAK),
}
# Too vague to mean anything: the text decides, then the code class / reply code fallbacks.
# RFC 3463 defines every X.<subject>.0 as "other or undefined <subject> status": X.0.0, X.3.0
# (mail system), X.4.0 (network), X.5.0 (protocol) and X.7.0 (security) name a subject, not a
# reason; X.7.1 "delivery not authorized" is what servers send for 13+ different reasons.
# (X.2.0 keeps its weak `filtered` meaning: a mailbox-status refusal.)
VAGUE_CODES: frozenset[str] = frozenset({"0.0", "3.0", "4.0", "5.0", "7.0", "7.1"})

# Reasons that describe what happened to the *message or sender*: when the text says one of
# these, a recipient-level decisive code was the server's generic choice, and the text wins.
_SENDER_SIDE = frozenset({
    "blocked", "rejected", "norelaying", "spamdetected", "policyviolation", "virusdetected",
    "authfailure", "requireptr", "badreputation", "toomanyconn", "speeding", "securityerror",
    "failedstarttls", "mailererror",
})
TEXT_BEATS_CODE: dict[str, frozenset[str]] = {
    # size: a relay that turns "552 max message size exceeded" into Status 5.1.1
    "userunknown": _SENDER_SIDE | {"mailboxfull", "notaccept", "hasmoved", "suspend", "mesgtoobig",
                                   "exceedlimit"},
    "hostunknown": _SENDER_SIDE | {"networkerror", "notaccept"},
    "notaccept": frozenset({"userunknown", "hostunknown"}),
    "hasmoved": frozenset(),
    "mailboxfull": frozenset({"suspend"}),
    "rejected": frozenset({"blocked", "authfailure", "requireptr", "securityerror", "spamdetected"}),
    "toomanyconn": frozenset({"speeding", "blocked", "mailboxfull"}),  # X.5.3 next to a mailbox quota
    # X.7.28 "mail flood detected": when the text names the sending IP's rate, it is a block
    "spamdetected": frozenset({"blocked", "badreputation"}),
    "networkerror": frozenset({"expired", "hostunknown"}),
}

# (code subject.detail prefix, reason the text gave, condition, result). Conditions:
#   "not-rcpt": the failing SMTP command is known and is not RCPT TO (or unknown).
#   "any": always.
# A user-unknown text with a 5.2.x "mailbox status" code is a filter decision unless the
# refusal came at RCPT TO; a 5.2.1 that the text calls suspended is `suspend` (in TEXT order).
CODE_TEXT_GUARDS: tuple[tuple[str, str, str, str], ...] = (
    ("2.", "userunknown", "not-rcpt", "filtered"),
)

# --------------------------------------------------------------------------------------------
# (c) SMTP reply codes (RFC 5321) -> reason, used only when code and text say nothing
# --------------------------------------------------------------------------------------------
REPLY_CODES: dict[str, str] = {
    "421": "blocked",          # service not available, closing channel (often at connect)
    "451": "systemerror",      # local error in processing
    "452": "systemfull",       # insufficient system storage
    "500": "syntaxerror", "501": "syntaxerror", "502": "syntaxerror", "503": "syntaxerror",
    "504": "syntaxerror",
    "521": "notaccept",        # host does not accept mail (RFC 7504)
    "523": "failedstarttls", "524": "failedstarttls", "538": "failedstarttls",
    "525": "suspend",          # user account disabled
    "530": "securityerror", "534": "securityerror", "535": "securityerror",
    "551": "hasmoved",         # user not local
    "552": "mailboxfull",      # exceeded storage allocation
    "553": "userunknown",      # mailbox name not allowed
    "556": "notaccept",        # domain does not accept mail (RFC 7504)
}

# --------------------------------------------------------------------------------------------
# SMTP command at failure (normalised to CONN, EHLO, HELO, MAIL, RCPT, DATA)
# --------------------------------------------------------------------------------------------
# Fallback when the text names nothing (before a weak code).
COMMAND_REASONS: dict[str, str] = {"CONN": "blocked", "EHLO": "blocked", "HELO": "blocked",
                                   "MAIL": "rejected"}
# A recipient-side reason at a stage where the recipient was not being judged: "user unknown"
# answered to MAIL FROM is about the sender; at connect/EHLO about the sending host; after DATA
# the recipient had already been accepted at RCPT TO, so the refusal is a filter decision, not a
# dead address. (reasons, result, also over a decisive status code?) -- after DATA a 5.1.1 is
# kept: some filters re-check recipients after the content.
COMMAND_GUARDS: dict[str, tuple[frozenset[str], str, bool]] = {
    "CONN": (frozenset({"userunknown", "filtered", "hostunknown", "rejected"}), "blocked", True),
    "EHLO": (frozenset({"userunknown", "filtered", "hostunknown", "rejected"}), "blocked", True),
    "HELO": (frozenset({"userunknown", "filtered", "hostunknown", "rejected"}), "blocked", True),
    "MAIL": (frozenset({"userunknown", "filtered", "hostunknown"}), "rejected", True),
    "DATA": (frozenset({"userunknown"}), "filtered", False),
}

# X.<subject> class fallback when the code is known but not in STATUS_CODES.
CLASS_FALLBACK: dict[str, str] = {"6": "contenterror", "7": "securityerror"}

# The MTA gave up after retrying a *temporary* failure. With a 4.x.x code (or no code, or Action:
# delayed), a reason that would call the address or host dead, or a generic server error, is
# really expiry: "4.4.4 temporary server error ... after 30 attempts" is `expired`, not
# `hostunknown`. A specific soft cause the text names (mailbox full, blocked, reputation) is kept.
GAVE_UP = re.compile(
    r"after \d+ (delivery |connection |retry )?(attempts|tries|retries)"
    # Sendmail "could not be delivered for 5 days", Postfix "for more than 5 day(s)"; not
    # "try again in 5 minutes" (a deferral, not giving up)
    r"|\b(for|after) (more than |the last |(the )?past )?\d+ (hours?|days?|minutes?)(\(s\))?(?!\w)"
    r"|retry time(out)? (not reached|exceeded|expired)|retry timeout exceeded"  # Exim
    r"|in the queue too long|too long in (the )?queue|not going to try again"  # qmail
    r"|delivery time expired|message (has )?expired|queue lifetime|maximum (number of )?(retries|attempts)"
    r"|have been failing for a long time"  # Exim ("Giving up on <ip>" is qmail's *permanent* wording)
)
GAVE_UP_OVERRIDES: frozenset[str] = frozenset({"hostunknown", "notaccept", "systemerror"})
# Expiry is for a give-up that names no cause. A temporary failure (4.x.x code, 4xx reply or
# Action: delayed/expired) that was given up on -- or is still retried -- keeps the cause its text
# states, when it is one of these (the first such pattern in TEXT_PATTERNS order wins): the host
# refused the connection (blocked), DNS / routing trouble (networkerror), the mailbox or disk is
# full, throttling, reputation, reverse DNS, authentication, TLS. A dead-address cause read from a
# temporary failure is not final: "host not found" / "no MX found" answered by the DNS while the
# MTA still retries is a DNS problem (networkerror), never a hard reason.
STATED_CAUSES: frozenset[str] = frozenset({
    "networkerror", "blocked", "mailboxfull", "systemfull", "toomanyconn", "speeding",
    "badreputation", "requireptr", "authfailure", "failedstarttls", "hostunknown", "notaccept",
})
TEMPORARY_DNS_ANSWER: frozenset[str] = frozenset({"hostunknown", "notaccept"})
NOT_A_STATED_CAUSE: frozenset[str] = frozenset(REASONS) - STATED_CAUSES
# Text reasons not read from a diagnostic whose SMTP reply is permanent (5xx): an MTA's own
# give-up sentence next to a 5xx refusal does not say why the server refused.
NOT_WITH_PERMANENT_REPLY: frozenset[str] = frozenset({"expired"})
# An MTA's own label for the code class, printed before the remote server's quoted reply
# ("5.1.0 - Unknown address error 550-'<reply>'"): RFC 3463 X.1.0 "other address status" names no
# reason, so the label is not read as "unknown address"; the quoted reply decides.
CODE_CLASS_LABEL = re.compile(r"(?<=\d) - unknown address error\b")

# --------------------------------------------------------------------------------------------
# (d) Diagnostic text patterns, checked IN THIS ORDER on the lower-cased, whitespace-collapsed
# diagnostic; the first match wins. A reason may appear more than once (strong phrases early,
# generic ones late). Order rationale: specific mailbox states (full, too big, suspended,
# moved) before "unknown user", because servers say "user unknown or mailbox full/disabled";
# sender-side refusals (relay, authentication, sender address) before recipient reasons,
# because "Recipient address rejected: Sender domain not found" is about the sender; RBL
# listings before the word "spam" ("listed at spamhaus"); temporary DNS trouble before
# "host not found"; generic "blocked/denied" and expiry/timeouts last.
# --------------------------------------------------------------------------------------------
_W = r"(?:[^.;:()]|\.(?=\S)){0,40}?"  # a few words in one clause (an address or host may have dots)

TEXT_RULES: list[tuple[str, list[str]]] = [
    # -- virus / malware (very specific words)
    ("virusdetected", [
        r"\bvirus(es)? (was |were )?(found|detected)", r"\bcontains? (\w+ ){0,2}virus", r"infected with",
        r"\bmalware\b", r"\bvirus\b.{0,30}\b(reject|infected|found)",
    ]),
    # -- mailbox states, before "user unknown" ("user unknown or mailbox full/disabled")
    ("mailboxfull", [
        r"mailbox (is |was )?(currently )?full", r"\bmailbox full", r"over ?quota",
        r"quota (exceeded|full|exceed)",
        r"exceeded (his|her|the|their|its)? ?(mailbox |storage |disk )?quota",
        r"(disk|storage|mailbox) quota", r"insufficient (disk )?space",
        r"(mailbox|inbox|account)( is)? (over|out of) (storage|space|the limit)", r"inbox is full",
        r"full mailbox", r"mailbox size limit", r"user has exceeded",
        r"recipient'?s? mailbox (is full|exceeded)",
        r"(number|size) of (messages|mail) in (the )?(recipient'?s? )?mailbox exceed",
        r"mailbox (has )?exceeded", r"not enough (storage|space) (in|for|on) (the )?(mailbox|user)",
        r"storage (space )?(is )?full", r"out of storage", r"mail ?(box|folder|drop) (is )?full",
    ]),
    ("mesgtoobig", [
        r"message (size )?(is )?too (big|large)", r"message (size|length) exceeds?",
        r"size exceeds?( the)? (maximum|fixed|allowed)",
        r"exceeds? (the )?(maximum|fixed|allowed) (message )?size",
        r"message size (limit|exceeded)", r"mail size limit", r"(size|length) limit exceeded",
        r"message exceeds? (the )?(size|maximum)", r"too large for this system", r"mail too big",
    ]),
    ("exceedlimit", [
        r"header size exceeds", r"exceeds? (the )?(mailbox|recipient)'?s? (size )?limit",
        r"message too large for (the |this )?(mailbox|recipient)",
    ]),
    ("suspend", [
        r"\b(account|mailbox|user|address|recipient)\b" + _W + r"\b(has been |have been |is |was |are )?"
        r"(temporar(y|ily) |permanently |currently )?(disabled|suspended|deactivated|locked|frozen|inactive"
        r"|expired|on hold|closed for inactivity|not active)\b",
        r"inactive (user|account|mailbox)",
        r"(disabled|suspended|deactivated|frozen|blocked|locked) (user|account|mailbox)",
        r"mailbox (is )?(currently )?(unavailable|disabled) for (this|the) user",
    ]),
    ("hasmoved", [
        r"has been replaced by", r"\buser not local", r"\bnot our customer",
        r"(mailbox|address|user) has moved",
        r"no longer (on|at) (this )?server", r"mailbox owner has changed",
    ]),
    # -- relaying and sender-side refusals, before recipient reasons ("Recipient address
    #    rejected: Sender domain not found" is about the sender)
    ("norelaying", [
        r"relay(ing)? (access )?(is )?(denied|not permitted|prohibited|not allowed|refused)",
        r"not permitted to relay", r"unable to relay",
        r"(relaying|relay) (mail )?to .{0,60} (is )?not (allowed|permitted)",
        r"we do not relay", r"no relaying", r"in my list of allowed rcpthosts", r"not (an )?open relay",
        r"relay not permitted", r"not allowed to relay", r"relaying denied",
        r"email address is not verified",  # Amazon SES SMTP: unverified sending identity
    ]),
    ("rejected", [
        r"sender address rejected", r"domain of sender address",
        r"sender domain (must exist|not found|does not exist|is invalid|unknown)", r"sender verify failed",
        r"sender (address )?(is )?(rejected|refused|blacklisted)", r"\bbatv\b", r"invalid sender",
        r"bad sender",
        r"sender (e-?mail )?address (is )?(invalid|not valid)", r"mail from .{0,60}rejected",
        r"sender not allowed",
        r"return path .{0,30}(invalid|rejected)", r"from address (is )?(invalid|rejected)",
        r"\bfrom: (address |domain |header )?(is )?(invalid|not valid)", r"provide a valid from\b",
    ]),
    ("failedstarttls", [
        r"starttls (is )?required", r"must issue a starttls", r"tls (is )?required", r"requires? tls",
        r"starttls (failed|negotiation)", r"tls negotiation failed", r"encryption (is )?required",
    ]),
    ("authfailure", [
        r"\bspf\b" + _W + r"(fail|softfail|hard ?fail|check failed|validation)",
        r"\bdkim\b" + _W + r"(fail|invalid|missing)", r"\bdmarc\b", r"authentication checks? (failed|fail)",
        r"fails? to pass authentication", r"does not have authentication information",
        r"not pass authentication", r"unauthenticated (e-?mail|message)",
        r"authenticate with either spf or dkim", r"sender policy framework",
        r"not (designated|authori[sz]ed) to send", r"spf (record|policy)",
    ]),
    ("requireptr", [
        r"\bptr\b", r"reverse (dns|lookup|hostname|ip)", r"\brdns\b", r"cannot find your hostname",
        r"client host name (is )?(unknown|not)", r"unknown client host", r"not have a reverse",
        r"unresolvable (address|hostname|client)", r"hostname (does not|doesn't) (resolve|match)",
    ]),
    ("notcompliantrfc", [
        r"not (rfc ?5322|rfc ?2822|rfc) compliant", r"rfc ?5322", r"rfcmessagenoncompliant",
        r"multiple .{0,20}addresses in from", r"not compliant with rfc",
    ]),
    # -- the recipient does not exist
    ("userunknown", [
        r"\buser (is )?unknown",
        r"unknown (user|recipient|local[ -]?part|mailbox|addressee|e-?mail|account|alias)",
        r"no such (user|mailbox|recipient|account|address|local user|person)",
        r"(user|recipient|mailbox|address|account|addressee|e-?mail)\b" + _W
        + r"\b(does not|doesn't|did not|didn't|do not) exist",
        r"(user|recipient|mailbox|address|account|e-?mail address)\b" + _W + r"\b(not found|couldn't be found"
        r"|could not be found|unknown|not listed|not valid|is invalid|was not found)",
        r"invalid (recipient|mailbox|address|user|account|e-?mail address|destination|final delivery)",
        r"not a valid (mailbox|user|recipient|address)", r"recip(ient)?notfound",
        r"bad (destination )?(mailbox|recipient) address", r"mailbox name not allowed",
        r"no mailbox (here )?by that name", r"undeliverable address", r"addressee unknown",
        r"unknown or illegal alias", r"mailbox unavailable", r"no such user here",
        r"not listed in (the )?(domino )?(directory|address book|public name)", r"user not found",
        r"unknown address", r"recipient unknown\b", r"recipient name is not recognized", r"no mailbox found",
        r"not our user", r"(user|recipient) (doesn't|does not) have an? .{0,30}account",
        r"(address|recipient|mailbox) (is )?invalid\b",
    ]),
    ("filtered", [
        r"user reject", r"refused due to recipient preferences",
        r"not accepting (any )?(mail|e-?mail|messages)",
        r"(recipient|user) (has )?(rejected|refused|blocked) (your|this|the|all)",
        r"(blocked|rejected|filtered) by (the )?recipient(?!'?s? (domain|server|mail|host|system|mx))",
        r"recipient .{0,20}(filter|preferences)", r"message (was )?filtered",
        r"does not accept (mail|messages) from",
    ]),
    ("notaccept", [
        r"does not accept (any )?(e-?)?mail", r"accepts no (e-?)?mail", r"null mx",
        r"(couldn't|could not|unable to) find (a|any) mail exchanger", r"no mx (record|host)",
        r"domain does not (accept|receive)", r"not accepting (any )?(network )?messages",
    ]),
    # -- the MTA gave up retrying: whatever the last temporary error was, the outcome is expiry
    ("expired", [
        r"in the queue too long", r"too long in (the )?queue", r"delivery time expired",
        r"retry time(out)? (not reached|exceeded|expired)", r"retry timeout exceeded",
        r"could not be delivered for (too long|\d+ (days|hours))", r"queue lifetime",
        r"message (has )?expired",
        r"not going to try again", r"after \d+ (delivery |connection )?(attempts|tries|retries)",
    ]),
    # -- DNS / routing trouble that is not "no such domain"
    ("networkerror", [
        r"host not found, try again", r"malformed or unexpected name server",
        r"temporary (dns|lookup|name resolution) failure",
        r"(dns|lookup) (temporary )?(failure|error|timed? ?out)",
        r"host name lookup failure", r"mail forwarding loop", r"hop count exceeded", r"too many hops",
        r"routing loop", r"network (is )?unreachable", r"no route to host",
        r"temporary failure in name resolution", r"loops back to myself",
    ]),
    ("hostunknown", [
        r"host (or domain name )?(is )?(unknown|not found)", r"domain (name )?(does not|doesn't) exist",
        r"domain (is |was )?(not found|unknown|invalid)", r"no such (domain|host)",
        r"unrouteable (mail )?(address|domain)", r"name or service not known", r"unknown (host|domain)",
        r"invalid domain", r"couldn't find any host", r"nxdomain", r"domain (name )?not (found|exist)",
        r"host not found", r"unable to resolve (host|domain)", r"no valid (mx|hosts?)",
    ]),
    # -- the sending host or IP refused; reputation first, RBL listings before the word "spam"
    ("badreputation", [r"(poor|bad|low) (\S+ )?reputation", r"reputation (problem|issue|is|of|score)"]),
    ("blocked", [
        r"black ?list", r"block ?list", r"\brbl\b", r"\bdnsbl\b", r"spamhaus", r"spamcop",
        r"barracudacentral",
        r"sorbs", r"blocked using", r"listed (at|on|in|by) ", r"client host .{0,80}(rejected|blocked)",
        r"ip (address )?(\S+ )?(is |has been )?(blocked|blacklisted|listed|banned|rejected|not allowed)",
        r"your ip", r"(banned|blocked|blacklisted|listed) (sending |client |source |connecting )?ip\b",
        r"(sending|client|connecting) (ip|host|server) .{0,40}(blocked|rejected|refused|not allowed)",
        r"refused to talk to me", r"connection (rejected|denied) (by|from)",
        r"unusual rate of (unsolicited )?mail", r"temporarily (deferred|blocked)",
        r"(smtp|mail) server of your (isp|provider)", r"your isp'?s? (smtp|mail|outgoing)",
        r"dynamic(ally assigned)? (ip|address|host|pool)", r"residential (ip|address)", r"dial-?up",
    ]),
    # -- content judged spam
    ("spamdetected", [
        r"\bspam\b", r"unsolicited", r"\bube\b", r"bulk (e-?)?mail", r"junk (e-?)?mail",
        r"message content rejected", r"content (was )?(rejected|filtered) as",
        r"appears to be (spam|unsolicited)",
        r"classified as (spam|junk|bulk)", r"spam score", r"scored as",
    ]),
    ("policyviolation", [
        r"polic(y|ies) (reason|violation)",
        r"(denied|rejected|not accepted|refused|blocked) (by|due to|for|because of) (local |our |site "
        r"|security |organi[sz]ation(al)? )?polic",
        r"for policy reasons", r"violat\w* (our |the |local )?polic", r"illegal attachment",
        r"attachment (type )?(is )?not allowed", r"content presents a potential",
        r"blocked because (of )?its content",
        r"prohibited (attachment|content|file)", r"(blocked|rejected) (due to|by) (the )?content",
        r"message (is )?not (accepted|allowed) (by|due to|under) .{0,20}polic",
    ]),
    ("securityerror", [
        r"authentication (is )?required", r"must (be )?authenticat",
        r"unauthenticated (sender|user|relay|connection)",
        r"insecure mail relay", r"sender is not authenticated", r"smtp auth",
        r"authentication (failed|failure)",
        r"not authenticated", r"access denied - invalid",
    ]),
    ("rejected", [r"access denied", r"\bsender\b" + _W + r"\b(rejected|refused|denied|not allowed)"]),
    ("speeding", [
        r"try again slower", r"too fast", r"rate (limit|limited|exceeded)", r"sending rate",
        r"temporarily rate",
        r"receiving mail at a rate", r"at a rate that prevents", r"too quickly",
    ]),
    ("toomanyconn", [
        r"too many (connections|recipients|sessions|concurrent|simultaneous|hosts|messages|smtp)",
        r"connection (limit|rate)", r"throttl", r"exceeded .{0,30}connection",
    ]),
    ("blocked", [
        r"\bblocked\b", r"\bbanned\b", r"not allowed to (connect|send)", r"connection (rejected|denied)",
        r"host network not allowed", r"service refused",
    ]),
    # -- content and remote system problems
    ("contenterror", [
        r"duplicate (\S+ )?header", r"invalid mime", r"8-?bit data in header",
        r"malformed (message|header|mime)",
        r"header (syntax|line) (error|invalid)", r"invalid header", r"bad header",
    ]),
    ("systemfull", [
        r"mail system full", r"(disk|file ?system|mail ?spool) (is )?full", r"insufficient system storage",
        r"out of (disk|system) (space|storage)", r"system (is )?(over|full)",
    ]),
    ("systemerror", [
        r"internal (server |system |mail )?error", r"system error", r"server error", r"configuration error",
        r"\bmail loop", r"local error", r"service (is )?(currently |temporarily )?(not |un)available",
        r"temporary (server|local|system) (failure|problem|error)", r"resources? temporar",
    ]),
    ("expired", [
        r"delivery (period )?(has )?expired", r"timed out", r"time ?out", r"maximum (retry|time)",
        r"unable to deliver .{0,40} within", r"expired", r"did not accept our requests to connect",
        r"socket error",
    ]),
    ("mailererror", [
        r"procmail", r"maildrop", r"command (died|failed)", r"exit (status|code) \d+",
        r"pipe to .{0,60}(failed|error)", r"mailer error", r"unknown mailer",
    ]),
    ("syntaxerror", [
        r"syntax error", r"improper sequence", r"bad sequence of commands", r"command (not )?unrecognized",
        r"command not recognized", r"unrecognized command",
    ]),
    ("vacation", [r"auto-?reply", r"out of (the )?office", r"on vacation", r"away from (the |my )?office"]),
]

# Published wordings, checked BEFORE `TEXT_RULES`: phrases whose meaning a provider, an MTA's
# default text or the RFC 3463 / RFC 5248 registry states, so they beat both the generic groups
# and a vague code. One row: (pattern id, reason, regex on the normalised text, where the wording
# comes from). The id is what `Verdict.evidence` reports as `text:<id>`. Add rows from published
# texts only -- never from a single sample mail or another project's bounce corpus.
PUBLISHED_TEXTS: list[tuple[str, str, str, str]] = [
    # -- a mailing-list service refusing the poster: the *sender* was refused (soft). Google's
    #    notice never says the group is gone ("may not exist, or you may not have permission"),
    #    so it is not a dead address; a group that accepts only members refuses the sender too.
    ("google-groups-post-refused", "rejected",
     r"groups\.google\.com/support|may not have permission to post messages to the group"
     r"|only accepts messages from (its )?members",
     "Google Groups notice: 'the group you tried to contact (<name>) may not exist, or you may not have "
     "permission to post messages to the group' ... 'visit the Help Centre at "
     "https://groups.google.com/support/'"),
    # -- local delivery programs
    ("exim-executable-attachment", "virusdetected", r"potentially executable (content|attachment)",
     "Exim ACL example text 'has a potentially executable attachment' (BOUNCE_TAXONOMY.md: virusdetected)"),
    ("exim-received-loop", "networkerror", r"too many \"?received\"? headers",
     "Exim default 'Too many \"Received\" headers - suspected mail loop' (hop count, RFC 3463 X.4.6)"),
    ("ms-external-forwarding", "policyviolation", r"does not allow external forwarding",
     "Microsoft 365 NDR 550 5.7.520 'Access denied, Your organization does not allow external forwarding'"),
    ("anti-spoofing-policy", "policyviolation", r"anti-?spoofing policy",
     "Mimecast rejection 'Rejected by header based Anti-Spoofing policy'"),
    ("sendmail-sysexits-oserr", "mailererror", r"\b4\.0\.0 (operating system error|i/o error)\b",
     "Sendmail sysexits.c SysExMsg: a delivery agent's exit status EX_OSERR ':451 4.0.0 Operating system "
     "error' / EX_IOERR ':451 4.0.0 I/O error'"),
    ("exim-pipe", "mailererror", r"^pipe to \|",
     "Exim default bounce text for a pipe transport: 'pipe to |<command> generated by <address>'"),
    # -- size wins over any recipient code (a relay may wrap it in 5.1.1 / 5.7.x)
    ("size-limit", "mesgtoobig",
     r"max(imum)? (message |mail |email )?size (exceeded|limit)|message size exceeds|(message|mail|email) "
     r"(is )?(larger|bigger) than (the )?(max|allowed|permitted)|size of (the )?message exceeds",
     "RFC 3463 X.3.4 'message too big for system'; Postfix 'message size exceeds fixed limit'; Exchange "
     "5.3.4 'message size exceeds fixed maximum'"),
    ("orange-ofr-506", "spamdetected", r"\bofr_?506\b",
     "Orange/Wanadoo OFR code lists: '550 5.2.0 Mail rejete. Mail rejected. ofr_506' = spam or virus"),
    # -- the mailbox's storage, not connections ("too many messages" here is a quota)
    ("mailbox-message-quota", "mailboxfull",
     r"too many messages (on|in) (the )?(server|mailbox|inbox|account|folder)|mailbox (storage )?quota"
     r"|(user'?s?|recipient'?s?) (disk |storage |mailbox )?quota|mailbox (size )?exceeds",
     "RFC 3463 X.2.2 'mailbox full' (message count or storage quota); Gmail 5.2.2 'is over quota'"),
    # -- reputation before rate limiting
    ("ms-ip-reputation", "badreputation", r"rate limited due to (ip|domain|sender|url) reputation",
     "Microsoft 365 / Outlook.com 451 4.7.650-651 (S3113/S3114) 'temporarily rate limited due to IP "
     "reputation'"),
    ("yahoo-tss04", "badreputation", r"deferred due to (unexpected volume or )?user complaints|\[tss04\]",
     "Yahoo postmaster error codes: 421 4.7.0 [TSS04] '... deferred due to unexpected volume or user "
     "complaints'"),
    ("reputation", "badreputation",
     r"(due to|because of) [^.;]{0,30}\breputation"
     r"|reputation (is )?too low",
     "Gmail 421 4.7.0 / 550 5.7.1 'due to ... reputation'; Microsoft S3150 'reputation'"),
    # -- URI / domain blocklists are about the content, IP blocklists about the sender
    ("uri-blocklist", "spamdetected",
     r"\buribl\b|\bsurbl\b|\bdbl\.spamhaus|ur[il] (black|block) ?list",
     "URIBL/SURBL/Spamhaus DBL document themselves as lists of domains found in message bodies"),
    # -- recipient does not exist (explicit wording beats a vague 5.7.1 / 5.0.0)
    ("ms-dbeb", "userunknown", r"recipient address rejected: access denied",
     "Microsoft Learn, Exchange Online NDR 550 5.4.1: Directory-Based Edge Blocking rejects "
     "recipients that do not exist"),
    ("not-known-user", "userunknown",
     r"not a known user|(?<!sender )(user|recipient|address|mailbox) (is )?not known|unknown e-?mail address"
     r"|non-?existent (user|recipient|mailbox|address|account|e-?mail)",
     "issue 12 field reports; RFC 3463 X.1.1 'bad destination mailbox address' in the servers' own words"),
    ("no-account", "userunknown",
     r"no (such )?(account|mailbox|user) (by|with|of) that name|no mail ?box (is )?available"
     r"|\bbad[_ ]recipient\b|recipient (does not|doesn't) exist|this (user|account|mailbox|address) "
     r"(does not|doesn't) exist",
     "issue 12 field reports (qmail 'no mailbox here by that name' family; Gmail 5.1.1 'does not exist')"),
    ("address-does-not-exist", "userunknown",
     r"[\w.+-]+@[\w-]+(\.[\w-]+)+>?:? (user |mailbox |address |account |recipient )?(does not|doesn't) exist",
     "the mailbox named by its address 'does not exist' (Gmail 5.1.1, Postfix local/virtual, Exim)"),
    ("host-does-not-exist", "hostunknown",
     r"(^|[\s<\[(])[a-z0-9-]+(\.[a-z0-9-]+)+\.[a-z]{2,}\]?:? (does not|doesn't) exist",
     "a host name 'does not exist' (Exim/Sendmail wording for an unresolvable domain, RFC 3463 X.1.2)"),
    ("exim-mx-nonexistent", "hostunknown", r"all relevant mx records point to non-?existent hosts",
     "Exim default text, RFC 3463 X.1.2/X.4.4"),
    ("qmail-no-connection", "networkerror", r"(wasn't|was not) able to establish an smtp connection",
     "qmail-remote 'Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)': no MX host "
     "answered, RFC 3463 X.4.1 (network and routing subject)"),
    ("exim-null-mx", "notaccept", r"mx or srv record indicated no smtp service|no mx (record )?found",
     "Exim default text for a null MX (RFC 7505); 'No MX found for domain'"),
    # -- account states
    ("recipient-account-blocked", "suspend",
     r"(recipient|user|destination)'?s? (account|mailbox) (is |has been )?(blocked|locked|bloqu)"
     r"|compte du destinataire est bloqu",
     "La Poste/Orange 550 5.5.0 'The recipient account is blocked' (bilingual provider texts); X.2.1"),
    ("qq-frequency", "toomanyconn", r"\bfrequency limited",
     "Tencent QQ Mail help (error id 20022): 'Ip frequency limited' = too many connections or "
     "messages from the IP"),
    # -- sending IP refused
    ("gmail-unusual-rate", "blocked", r"unusual rate of (unsolicited )?mail originating from your ip",
     "Gmail SMTP error reference 421 4.7.28: 'unusual rate of unsolicited mail originating from your IP'"),
    ("gmail-ip-not-authorized", "blocked", r"ip you'?re using to send (e-?)?mail is not authori[sz]ed",
     "Gmail SMTP error reference 550 5.7.1: 'The IP you're using to send mail is not authorized ...'"),
    ("yahoo-permanently-deferred", "blocked",
     r"messages from .{0,60} will be permanently deferred|\[ts0[1-3]\]|\[tss09\]",
     "Yahoo postmaster error codes: [TS01]-[TS03] / [TSS09] 'All messages from <IP> will be permanently "
     "deferred'"),
    ("t-online-bl", "blocked", r"\bip=\S+ - a problem occurred\b.{0,200}\(bl\)",
     "T-Online/Telekom connection refusal '554 IP=<ip> - A problem occurred. (Ask your postmaster for help "
     "...) (BL)': the sending IP is not accepted (T-Online to spamresource.com, 2020; Plesk KB)"),
    ("postfix-helo-rejected", "blocked", r"helo command rejected",
     "Postfix smtpd_helo_restrictions default reply 'Helo command rejected: ...'"),
    ("ms-ip-not-accepted", "blocked",
     r"traffic not accepted from this ip|banned sending ip|part of their network is on our block list",
     "Microsoft 365 NDR 5.7.606-649 / 5.7.708 / S3140 'Access denied, banned sending IP'"),
]
_PUBLISHED_IDS = [row[0] for row in PUBLISHED_TEXTS]
assert len(set(_PUBLISHED_IDS)) == len(_PUBLISHED_IDS), "duplicate PUBLISHED_TEXTS id"

# (pattern id, reason, compiled): the published rows first, then the generic groups, whose id is
# their reason name (`text:userunknown`).
TEXT_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [
    (pid, reason, re.compile(rx)) for pid, reason, rx, _evidence in PUBLISHED_TEXTS
] + [
    (reason, reason, re.compile("|".join(f"(?:{p})" for p in phrases))) for reason, phrases in TEXT_RULES
]

# --------------------------------------------------------------------------------------------
# Extraction helpers (shared by classify and dsn)
# --------------------------------------------------------------------------------------------
# An enhanced status code in free text: 5.1.1, (#5.4.4), 550-5.7.26, [#4.1.9]. Not part of an
# IP address or a version number.
STATUS_IN_TEXT = re.compile(r"(?<![\w.])([45])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)(?![\w-])")
# An SMTP reply code: 3 digits at a token start, followed by space, '-' or end.
REPLY_IN_TEXT = re.compile(r"(?<![\w.#\[-])([45][0-5]\d)(?=[\s\-:,]|$)")

# The SMTP command at failure, as servers and MTAs word it in a diagnostic or transcript. All
# matches are collected and the one latest in the text wins (transcripts end with the failure).
COMMAND_RULES: list[tuple[str, str]] = [
    ("CONN", r"refused to talk to me|(smtp )?greeting|initial connection|connection (was )?rejected"
             r"|\bconn\b"),
    # qmail-remote's own wording: "Connected to <ip> but my name was rejected" (HELO), "... but
    # sender was rejected" (MAIL FROM), "<ip> does not like recipient" (RCPT TO), "<ip> failed
    # after I sent the message" (DATA).
    ("EHLO", r"\b[eh]lo command|in reply to [eh]lo|>>> [eh]lo\b|after [eh]lo\b|but my name was rejected"),
    ("MAIL", r"mail[ _]from command|in reply to mail from|>>> mail from|after mail from|our mail from"
             r"|\[mail_from\]|following mail from|but sender was rejected"),
    ("RCPT", r"rcpt[ _]to|\brcpt command|after rcpt|recipient command|\[rcpt_to\]|following rcpt"
             r"|does not like recipient"),
    ("DATA", r"end of data|\bdata command|>>> data\b|after data\b|final data|our data\b|text command"
             r"|\[data\]|after end of message|message body|failed after i sent the message"),
]
COMMAND_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(c, re.compile(p)) for c, p in COMMAND_RULES]
