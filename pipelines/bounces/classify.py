"""Classify one bounced recipient: hard or soft, and why.

Shared by every bounce source (DSN mails, SES bounce events): the caller passes whatever it
knows — the enhanced status code, the remote server's diagnostic text, the SMTP reply code, the
DSN Action, SES's bounceType/bounceSubType, the remote host, the failing SMTP command — and gets
a `Verdict`. The rules are data in `pipelines.bounce_rules`; the order in which the signals are
trusted is described there. Pure and cached: identical inputs (common across 100k+ rows) cost
one dictionary lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipelines.bounces import rules as R

_WS = re.compile(r"\s+")
# "smtp; 550 ...", "X-Unix; ...", "X-Postfix; ...": RFC 3464 diagnostic-type prefix.
_DIAG_TYPE = re.compile(r"^\s*([a-z][a-z0-9-]{1,20})\s*;\s*", re.IGNORECASE)
_KNOWN_TYPES = frozenset({"smtp", "x-unix", "x-postfix", "x-local", "x-exim", "x-qmail", "dns",
                          "x-notes", "x-ses", "x-smtp"})


@dataclass(frozen=True)
class Verdict:
    """The classification of one bounced recipient.

    `evidence` is the stable, documented field naming the signal that decided the reason:

    | evidence                  | meaning                                                         |
    |---------------------------|-----------------------------------------------------------------|
    | `ses:<Type>/<Subtype>`    | SES bounceType/bounceSubType (`rules.SES_SUBTYPES`)             |
    | `status:<code>`           | the enhanced status code (`rules.STATUS_CODES`), e.g. status:5.1.1 |
    | `text:<pattern id>`       | a text pattern: a `rules.PUBLISHED_TEXTS` id, or a generic group |
    |                           | of `rules.TEXT_RULES` named by its reason (text:userunknown)     |
    | `text:gave-up`            | temporary failure the MTA stopped retrying (`rules.GAVE_UP`)    |
    | `command:<CMD>`           | the SMTP command at failure (CONN, EHLO, HELO, MAIL, RCPT, DATA) |
    | `diagnostic-type:x-unix`  | a local delivery program's output                               |
    | `class:<c>.<s>`           | only the status code's class/subject (`rules.CLASS_FALLBACK`)   |
    | `reply:<code>`            | the SMTP reply code (`rules.REPLY_CODES`)                       |
    | `action:delayed`          | DSN Action delayed/expired                                      |
    | `fallback`                | nothing matched: onhold (some text) or undefined (none)         |

    `signal` is the older, coarser name of the same thing ("status-code", "text:<reason>", ...),
    kept for existing callers.
    """

    bounce: str  # "hard" | "soft"
    reason: str  # a name from bounce_rules.REASONS
    status: str | None  # enhanced status code found, normalised like "5.1.1"
    signal: str  # coarse: "ses-subtype", "status-code", "text:<reason>", "smtp-command", ...
    evidence: str = ""  # see the class docstring


def normalise_text(text: str | None) -> str:
    """Lower-case and collapse whitespace (what the text patterns expect)."""
    return _WS.sub(" ", text).strip().lower() if text else ""


def find_status(text: str | None) -> str | None:
    """First enhanced status code (4.x.x / 5.x.x) in `text`, normalised ("5.01.1" -> "5.1.1")."""
    if not text:
        return None
    m = R.STATUS_IN_TEXT.search(text)
    if not m:
        return None
    return f"{m.group(1)}.{int(m.group(2))}.{int(m.group(3))}"


def find_reply_code(text: str | None) -> str | None:
    """First SMTP reply code (4xx/5xx) in `text`."""
    if not text:
        return None
    m = R.REPLY_IN_TEXT.search(text)
    return m.group(1) if m else None


def find_command(text: str | None) -> str | None:
    """The SMTP command at failure as worded in `text` (latest mention wins), or None."""
    if not text:
        return None
    low = text.lower()
    best: tuple[int, str] | None = None
    for command, pattern in R.COMMAND_PATTERNS:
        for m in pattern.finditer(low):
            if best is None or m.start() >= best[0]:
                best = (m.start(), command)
    return best[1] if best else None


def normalise_command(command: str | None) -> str | None:
    if not command:
        return None
    c = command.strip().upper().replace("_", " ")
    for name in ("CONN", "EHLO", "HELO", "MAIL", "RCPT", "DATA"):
        if c.startswith(name):
            return name
    if c.startswith(("END OF DATA", "BDAT", "TEXT")):
        return "DATA"
    return find_command(command)


def text_match(text: str, skip: frozenset[str] = frozenset()) -> tuple[str, str] | None:
    """(reason, pattern id) of the first pattern matching the normalised diagnostic, in
    TEXT_PATTERNS order (published wordings first, then the generic groups); reasons in `skip`
    are passed over."""
    for pattern_id, reason, pattern in R.TEXT_PATTERNS:
        if reason not in skip and pattern.search(text):
            return reason, pattern_id
    return None


def text_reason(text: str) -> str | None:
    """First reason whose pattern matches the normalised diagnostic, in TEXT_PATTERNS order."""
    m = text_match(text)
    return m[0] if m else None


def is_hard(reason: str, code: str | None, reply: str | None, text: str) -> bool:
    if reason in R.HARD_REASONS:
        return True
    if reason == R.CONDITIONAL_HARD_REASON:
        first = (code or reply or "")[:1]
        if first == "4":
            return False
        if first == "5":
            return True
        return not R.TEMPORARY_TEXT.search(text)
    return False


def _choose_status(field: str | None, in_text: str | None) -> str | None:
    """The Status field, unless the remote server's own code in the text says more.

    The text's code wins when the field is missing, or when both have the same class but differ
    (a vague Status: 5.0.0, or a relay that rewrote "550 5.7.1 blacklisted" into Status: 5.1.1).
    A different class (Status 5.x.x after a 4xx reply the MTA gave up on) keeps the field.
    """
    if not field:
        return in_text
    if not in_text or in_text == field:
        return field
    return in_text if field[0] == in_text[0] else field


def _ses_reason(bounce_type: str | None, subtype: str | None) -> tuple[str, str | None] | None:
    """(reason, forced bounce or None) from SES's table, or None to decide from code and text."""
    if not subtype:
        return None
    sub = subtype.strip().lower()
    typ = (bounce_type or "").strip().lower()
    if (typ, sub) in R.SES_SUBTYPES:
        reason, bounce = R.SES_SUBTYPES[(typ, sub)]
        return (reason, bounce) if reason else None
    for (_, known_sub), (reason, bounce) in R.SES_SUBTYPES.items():
        if known_sub == sub and reason is not None:
            return reason, bounce
    return None


def classify(
    *,
    status: str | None,
    diagnostic: str | None,
    reply_code: str | None = None,
    action: str | None = None,
    ses_bounce_type: str | None = None,
    ses_bounce_subtype: str | None = None,
    remote_host: str | None = None,
    smtp_command: str | None = None,
) -> Verdict:
    """Decide hard/soft and the reason for one bounced recipient (see module docstring).

    `status` and `reply_code` may be None: they are then read from the diagnostic text, as is the
    SMTP command. `remote_host` is accepted so that every source passes the same fields; no rule
    keys on a host name (provider-specific tables would go in bounce_rules, as data).
    """
    return _classify(status or None, diagnostic or None, reply_code or None, action or None,
                     ses_bounce_type or None, ses_bounce_subtype or None, remote_host or None,
                     smtp_command or None)


@lru_cache(maxsize=1 << 16)
def _classify(status, diagnostic, reply_code, action, ses_type, ses_subtype, remote_host, command):
    text = normalise_text(diagnostic)
    diag_type = None
    m = _DIAG_TYPE.match(text)
    if m and m.group(1) in _KNOWN_TYPES:
        diag_type = m.group(1)
        text = text[m.end():]
    text = R.CODE_CLASS_LABEL.sub(" -", text)

    code = _choose_status(find_status(status), find_status(text))
    reply = (reply_code or "").strip()[:3] if reply_code and reply_code.strip()[:3].isdigit() else None
    reply = reply or find_reply_code(text)
    cmd = normalise_command(command) or find_command(text)
    act = (action or "").strip().lower()

    def verdict(reason: str, signal: str, evidence: str) -> Verdict:
        hard = is_hard(reason, code, reply, text)
        return Verdict("hard" if hard else "soft", reason, code, signal, evidence)

    # 1. SES's own subtype when it names a reason (and, for Suppressed, the hard/soft).
    ses = _ses_reason(ses_type, ses_subtype)
    if ses:
        ses_evidence = f"ses:{(ses_type or '').strip()}/{(ses_subtype or '').strip()}"
        if ses[1]:
            return Verdict(ses[1], ses[0], code, "ses-subtype", ses_evidence)
        return verdict(ses[0], "ses-subtype", ses_evidence)

    # A permanent (5xx) reply from the remote server is a refusal, not a timeout: expiry wording
    # around it ("I'm not going to try again") does not name the reason.
    skip = R.NOT_WITH_PERMANENT_REPLY if (reply or "")[:1] == "5" else frozenset()
    matched = text_match(text, skip) if text else None
    by_text = matched[0] if matched else None
    text_evidence = f"text:{matched[1]}" if matched else ""
    status_evidence = f"status:{code}" if code else ""
    entry = None
    if code:
        key = code.split(".", 1)[1]
        if key not in R.VAGUE_CODES:
            entry = R.STATUS_CODES.get(key)

    reason: str | None = None
    signal = evidence = ""
    # 2. Output of a local delivery program (pipe, procmail, maildrop): a mailer error unless
    #    it plainly says the mailbox or disk is full.
    if diag_type == "x-unix":
        if by_text in ("mailboxfull", "systemfull", "mesgtoobig", "exceedlimit"):
            reason, signal, evidence = by_text, f"text:{by_text}", text_evidence
        else:
            reason, signal, evidence = "mailererror", "diagnostic-type", "diagnostic-type:x-unix"
    # 3. A decisive status code, unless the text names a reason that overrides it.
    elif entry and entry[1] == R.DECISIVE:
        if by_text and by_text in R.TEXT_BEATS_CODE.get(entry[0], ()):
            reason, signal, evidence = by_text, f"text:{by_text}", text_evidence
        else:
            reason, signal, evidence = entry[0], "status-code", status_evidence
    # 4. Text patterns; then the SMTP command (a refusal at MAIL FROM is about the sender, at
    #    connect/EHLO about the sending host); then a weak code.
    elif by_text:
        reason, signal, evidence = by_text, f"text:{by_text}", text_evidence
    elif cmd in R.COMMAND_REASONS:
        reason, signal, evidence = R.COMMAND_REASONS[cmd], "smtp-command", f"command:{cmd}"
    elif entry:
        reason, signal, evidence = entry[0], "status-code", status_evidence

    # Known code/text combinations (user unknown with a 5.2.x mailbox-status code, ...).
    if reason and code:
        key = code.split(".", 1)[1]
        for prefix, when_reason, condition, result in R.CODE_TEXT_GUARDS:
            applies = condition == "any" or (condition == "not-rcpt" and cmd != "RCPT")
            if key.startswith(prefix) and reason == when_reason and applies:
                reason, signal, evidence = result, f"text:{result}", status_evidence

    # A recipient-side reason read from the text at a stage where the recipient was not being
    # judged (MAIL FROM, connect, after DATA).
    guard = R.COMMAND_GUARDS.get(cmd or "")
    if guard and reason in guard[0] and (guard[2] or signal != "status-code"):
        reason, signal, evidence = guard[1], "smtp-command", f"command:{cmd}"

    # A temporary failure the MTA stopped retrying is expiry, not a dead host or a server fault.
    temporary = (code or reply or "4")[:1] == "4" or act in ("delayed", "expired")
    if temporary and text and reason in (None, *R.GAVE_UP_OVERRIDES) and R.GAVE_UP.search(text):
        reason, signal, evidence = "expired", "text:expired", "text:gave-up"
    # ... but a temporary failure keeps the cause its text states (`rules.STATED_CAUSES`);
    # a dead-host answer to a temporary failure is a DNS problem, not a hard reason.
    retrying = act in ("delayed", "expired") and reason in (None, *R.TEMPORARY_DNS_ANSWER)
    if temporary and text and (reason == "expired" or retrying):
        cause = text_match(text, R.NOT_A_STATED_CAUSE)
        if cause:
            found = "networkerror" if cause[0] in R.TEMPORARY_DNS_ANSWER else cause[0]
            reason, signal, evidence = found, f"text:{found}", f"text:{cause[1]}"

    # 5. Fallbacks.
    if reason is None and cmd in R.COMMAND_REASONS:
        reason, signal, evidence = R.COMMAND_REASONS[cmd], "smtp-command", f"command:{cmd}"
    if reason is None and code:
        subject = code.split(".")[1]
        if subject in R.CLASS_FALLBACK:
            reason, signal, evidence = R.CLASS_FALLBACK[subject], "code-class", f"class:{code[0]}.{subject}"
    if reason is None and reply in R.REPLY_CODES:
        reason, signal, evidence = R.REPLY_CODES[reply], "reply-code", f"reply:{reply}"
    # Still retrying (or given up): a dead-address reason is not final, and a bare reply-code
    # guess ("421") says less than the Action itself.
    if act in ("delayed", "expired") and (reason is None or reason in R.HARD_REASONS
                                          or reason == R.CONDITIONAL_HARD_REASON
                                          or signal == "reply-code"):
        reason, signal, evidence = "expired", "action", f"action:{act}"
    if reason is None:
        reason, signal, evidence = ("onhold", "fallback", "fallback") if text else \
            ("undefined", "fallback", "fallback")

    if act == "delayed":
        # Not a final failure: never hard, whatever the reason says.
        return Verdict("soft", reason, code, signal, evidence)
    return verdict(reason, signal, evidence)
