"""Parse bounce mails (RFC 3464 DSNs and the non-standard kinds) into bounced recipients.

`parse(data)` takes the bytes of one mail and returns a `DsnResult`: the bounced recipients
(address, DSN fields, diagnostic, the original message's useful headers, and the `Verdict` from
`pipelines.classify`), or no recipients and the reason why. It never raises on a bad mail.

How recipients are found, most reliable first:

1. `message/delivery-status` parts (RFC 3464): one block per recipient — Final-Recipient /
   Original-Recipient, Action, Status, Diagnostic-Code, Remote-MTA ... Blocks whose Action is
   delivered / relayed / expanded are not bounces and are dropped.
2. The same fields written inside a text part (a forwarded or inlined DSN).
3. The human-readable notification (qmail, Exim, Postfix, Sendmail, Exchange/Office 365,
   Gmail, Yahoo, Courier, Domino, ...): the text before the returned original message is cut
   into one segment per address found in it; addresses that are the sender, a contact address,
   a message id or the bounce's own addressees are not recipients. `X-Failed-Recipients`, when
   present, names the recipients. The segment (plus error lines from the preamble) becomes the
   diagnostic. DSN recipients that lack a diagnostic or whose address is broken are completed
   from this text as well.

4. An Amazon SES bounce notification e-mailed as JSON (SNS e-mail subscription, with or without
   the SNS envelope): bouncedRecipients, classified with SES's bounceType/bounceSubType.

`iter_mails(path)` reads a single .eml, an mbox file, a maildir, or a folder of these.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from pipelines.bounces import rules as R
from pipelines.bounces.classify import Verdict, classify, find_command, find_reply_code, find_status

MAX_DIAGNOSTIC = 1000
MAX_TEXT = 200_000  # characters of notification text examined
MAX_HEADER_VALUE = 300
MAX_X_HEADERS = 30


@dataclass(frozen=True)
class BouncedRecipient:
    recipient: str
    action: str | None
    status: str | None  # the DSN Status field, normalised ("5.1.1"); see verdict.status too
    diagnostic: str | None
    reply_code: str | None
    remote_mta: str | None
    reporting_mta: str | None
    arrival_date: str | None
    smtp_command: str | None
    original_message_id: str | None
    original_headers: dict[str, str]
    verdict: Verdict
    ses_message_id: str | None = None
    found_by: str = "dsn"  # "dsn" (delivery-status part), "dsn-text", "text" (heuristics), "ses-json"


@dataclass(frozen=True)
class DsnResult:
    recipients: list[BouncedRecipient] = field(default_factory=list)
    problem: str | None = None  # why there are no recipients, when there are none
    kind: str = "none"  # "rfc3464", "dsn-text", "text", "ses-json" or "none"


# ---------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------
# Bounded quantifiers keep the scan linear on long unbroken lines (base64, junk).
ADDRESS = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-][a-z0-9!#$%&'*+/=?^_`{|}~.-]{0,63}@"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?){1,10}",
    re.IGNORECASE,
)
_VALID = re.compile(r"^[^@\s<>]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_TYPE_PREFIX = re.compile(r"^\s*[a-z0-9-]+\s*;\s*", re.IGNORECASE)
_WS = re.compile(r"\s+")
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")

DSN_FIELDS = frozenset({
    "reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date", "original-envelope-id",
    "original-recipient", "final-recipient", "action", "status", "remote-mta", "diagnostic-code",
    "last-attempt-date", "final-log-id", "will-retry-until", "x-postfix-queue-id",
    "x-postfix-sender", "x-actual-recipient", "x-original-message-id", "x-supplementary-info",
    "x-display-name",
})
PER_MESSAGE_FIELDS = frozenset({"reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date",
                                "original-envelope-id", "x-postfix-queue-id", "x-postfix-sender"})
RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
NOT_BOUNCE_ACTIONS = frozenset({"delivered", "relayed", "expanded"})

# Lines that introduce the returned original message; everything after is not notification.
_CUT_MARKER = re.compile(
    r"original message (follows|headers?|is following)|^[\s*>=_-]*original message[\s*=_:-]*$"
    r"|copy of (the |your )?(original )?message|unsent message follows|header of the original"
    r"|message headers? follows?|text you sent follows|^[\s*=_-]*(returned|undelivered) message"
    r"[\s*=_:-]*$|headers of (the |your )?original|original message header|rfc ?822 headers? follow"
    r"|^[\s*-]+(original|returned) (mail|e-?mail)|^-+\s*message (text|header)s?\s*-+",
    re.IGNORECASE,
)
_NOT_MARKER = re.compile(r"original message was received|message was received at", re.IGNORECASE)
_MAIL_HEADERS = frozenset({
    "received", "return-path", "message-id", "date", "from", "to", "cc", "subject", "mime-version",
    "content-type", "content-transfer-encoding", "dkim-signature", "delivered-to", "reply-to",
    "sender", "references", "in-reply-to", "authentication-results", "received-spf", "user-agent",
    "precedence", "importance", "feedback-id", "list-unsubscribe", "content-disposition",
    "domainkey-signature", "arc-seal", "arc-message-signature", "arc-authentication-results",
    "thread-index", "thread-topic", "errors-to", "envelope-to", "delivery-date", "auto-submitted",
})
_STRONG_HEADERS = frozenset({
    "received", "return-path", "dkim-signature", "mime-version", "content-type",
    "content-transfer-encoding", "authentication-results", "received-spf", "delivered-to",
    "domainkey-signature", "arc-seal",
})
# Words just before an address that make it not a bounced recipient.
_NOT_RECIPIENT_BEFORE = re.compile(
    r"(\bfrom|sender|envelope-from|reply-to|return-path|errors-to|contact|send mail to|write to"
    r"|message-id|msgid|\bid|references|in-reply-to|postmaster at|generated by|\bby)"
    r"\s*[:=]?\s*[<(\[\"']*\s*$",
    re.IGNORECASE,
)
_SKIP_LINE = re.compile(
    r"^\s*(subject|date|sent date|size( \(in bytes\))?|number of lines|message-id|cc|from|mail from"
    r"|sender|reply-to|x-[\w-]+)\s*:", re.IGNORECASE,
)
_BOUNCE_HINT = re.compile(
    r"undeliver|not (be )?delivered|delivery (has )?failed|delivery status|failure notice|returned mail"
    r"|unable to deliver|permanent error|fatal error|did not reach|error delivering|could not deliver"
    r"|couldn't be delivered|wasn't able to deliver|mail delivery|delivery failure|non-?delivery"
    r"|returned to sender|failed recipient|\b[45]\d\d[ -]#?[45]\.\d{1,3}\.\d|#[45]\.\d{1,3}\.\d",
    re.IGNORECASE,
)
# A warning that delivery is still being retried (Gmail, Exchange, Postfix "Delayed Mail").
_DELAY_HINT = re.compile(
    r"has been delayed|delivery (is |has been )?delayed|delayed mail|will be retried|still being retried"
    r"|warning message only|will (continue to )?(re)?try|status notification \(delay\)"
    r"|not yet been delivered",
    re.IGNORECASE,
)
_HTML_BREAK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d|p|div|tr|li)\b[^>]*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]{0,2000}>")
_HTML_DROP = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_QUOTE = re.compile(r"^> ?", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def _collapse(text: str | None, limit: int = MAX_DIAGNOSTIC) -> str | None:
    if not text:
        return None
    out = _WS.sub(" ", text).strip()
    if len(out) > limit:
        out = out[: limit - 1].rstrip() + "…"
    return out or None


def _strip_type(value: str | None) -> str | None:
    """'rfc822; <a@b>' -> 'a@b'; 'dns; mx.example.org' -> 'mx.example.org'."""
    if not value:
        return None
    return _TYPE_PREFIX.sub("", value, count=1).strip() or None


def clean_address(value: str | None) -> str | None:
    """A lower-cased address from a field value, or None when it is not a usable address."""
    if not value:
        return None
    v = _strip_type(value) or ""
    m = ADDRESS.search(v)
    if not m:
        return None
    addr = m.group(0).strip(".").lower()
    return addr if _VALID.match(addr) else None


def _decode_header_value(value) -> str:
    try:
        text = str(make_header(decode_header(str(value))))
    except Exception:
        text = str(value)
    return _WS.sub(" ", text).strip()


def _decode_bytes(raw: bytes, charset: str | None) -> str:
    for cs in (charset, "utf-8"):
        if not cs:
            continue
        try:
            return raw.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1252", errors="replace")


def _part_text(part: Message) -> str:
    """Decoded text of a non-multipart part; never raises."""
    try:
        raw = part.get_payload(decode=True)
    except Exception:
        raw = None
    if raw is None:
        payload = part.get_payload()
        if isinstance(payload, str):
            return payload
        if isinstance(payload, list):
            return "\n\n".join(_message_as_text(p) for p in payload if isinstance(p, Message))
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = _decode_bytes(raw, charset)
    if part.get_content_type() == "text/html":
        text = _HTML_DROP.sub(" ", text)
        text = _HTML_BREAK.sub("\n", text)
        text = html.unescape(_HTML_TAG.sub(" ", text))
    return text


def _message_as_text(msg: Message) -> str:
    """Headers and body of a sub-message as plain text (for parsed delivery-status blocks)."""
    lines = [f"{k}: {v}" for k, v in msg.items()]
    payload = msg.get_payload()
    if isinstance(payload, str) and payload.strip():
        lines.append(payload)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# DSN fields
# ---------------------------------------------------------------------------------------------
def parse_dsn_fields(text: str, *, require_action: bool = False) -> tuple[dict, list[dict]]:
    """Per-message fields and one dict per recipient block from delivery-status text.

    Blocks are separated by blank lines (or any line that is not a field), and a recipient field
    that repeats inside a block starts a new one. Field names are lower-cased; values unfolded.
    """
    per_message: dict[str, str] = {}
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last_key: str | None = None

    def close() -> None:
        nonlocal current
        if any(k in current for k in RECIPIENT_FIELDS):
            for k in PER_MESSAGE_FIELDS & current.keys():  # no blank line after the message part
                per_message.setdefault(k, current[k])
            groups.append(current)
        else:
            for k, v in current.items():
                per_message.setdefault(k, v)
        current = {}

    for line in text.splitlines():
        if not line.strip():
            close()
            last_key = None
            continue
        if line[:1] in (" ", "\t") and last_key:
            current[last_key] = current[last_key] + " " + line.strip()
            continue
        m = _FIELD.match(line)
        if not m or m.group(1).lower() not in DSN_FIELDS:
            close()
            last_key = None
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key in current and (key in RECIPIENT_FIELDS or key in ("action", "status")):
            close()
        current[key] = value
        last_key = key
    close()
    if require_action:
        groups = [g for g in groups if "action" in g or "status" in g]
    return per_message, groups


# ---------------------------------------------------------------------------------------------
# Structure of the mail
# ---------------------------------------------------------------------------------------------
@dataclass
class _Parts:
    texts: list[str] = field(default_factory=list)  # human-readable notification texts
    dsn: list[str] = field(default_factory=list)  # delivery-status texts
    originals: list[Message] = field(default_factory=list)  # original message or its headers


_ORIGINAL_TYPES = frozenset({
    "message/rfc822", "message/partial", "text/rfc822-headers", "message/rfc822-headers",
    "text/rfc822-header", "message/global", "message/global-headers",
})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status",
                        "text/delivery-status"})


def _original_from_part(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        for p in payload:
            if isinstance(p, Message):
                return p
        return None
    text = _part_text(part)
    return _headers_from_text(text)


def _headers_from_text(text: str) -> Message | None:
    lines = text.lstrip("\r\n").splitlines()
    # Skip a few leading non-header lines (e.g. "The original message is over 5k.").
    for start in range(min(len(lines), 8)):
        m = _FIELD.match(lines[start])
        if m and (m.group(1).lower() in _MAIL_HEADERS or m.group(1).lower().startswith("x-")):
            try:
                return HeaderParser(policy=email.policy.compat32).parsestr("\n".join(lines[start:]))
            except Exception:
                return None
    return None


def _looks_like_headers(msg: Message) -> bool:
    """A MIME body part carries Content-* headers only; one with a message's own headers
    (Received, Message-ID, From, Subject...) is the original message inlined without a type."""
    keys = {k.lower() for k in msg}
    return len(keys & {"received", "message-id", "from", "subject", "return-path", "to", "date"}) >= 2


def _collect(msg: Message, parts: _Parts, depth: int = 0) -> None:
    if depth > 20:
        return
    try:
        ctype = msg.get_content_type()
    except Exception:
        ctype = "text/plain"
    if ctype in _ORIGINAL_TYPES:
        original = _original_from_part(msg)
        if original is not None:
            parts.originals.append(original)
        return
    if ctype in _DSN_TYPES:
        payload = msg.get_payload()
        if isinstance(payload, list):
            parts.dsn.append("\n\n".join(_message_as_text(p) for p in payload if isinstance(p, Message)))
        else:
            parts.dsn.append(_part_text(msg))
        return
    if msg.is_multipart():
        # Some MTAs (Courier) write the human-readable report before the first boundary.
        preamble = msg.preamble or ""
        if sum(1 for ln in preamble.splitlines() if ln.strip()) > 2:
            parts.texts.append(preamble)
        payload = msg.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                _collect(sub, parts, depth + 1)
        return
    if ctype.startswith("multipart/"):
        repaired = _repair_multipart(msg, ctype)
        if repaired is not None:
            _collect(repaired, parts, depth + 1)
            return
    if depth > 0 and _looks_like_headers(msg):
        parts.originals.append(msg)  # a MIME part whose "headers" are the original's headers
        return
    if ctype.startswith("text/") or depth == 0:
        if msg.get_content_disposition() == "attachment" and depth > 0:
            text = _part_text(msg)
            original = _headers_from_text(text)
            if original is not None and len(original.keys()) >= 3:
                parts.originals.append(original)
                return
        parts.texts.append(_part_text(msg))


_BOUNDARY_LINE = re.compile(r'^\s*boundary\s*=\s*"?([^";\r\n]+)"?\s*;?\s*$', re.IGNORECASE | re.MULTILINE)


def _repair_multipart(msg: Message, ctype: str) -> Message | None:
    """A multipart part whose boundary parameter was lost (folded without indentation)."""
    payload = msg.get_payload()
    if not isinstance(payload, str):
        return None
    m = _BOUNDARY_LINE.search(payload[:500])
    if not m:
        return None
    boundary = m.group(1).strip()
    body = payload[m.end():]
    text = f'Content-Type: {ctype}; boundary="{boundary}"\n\n{body.lstrip(chr(13) + chr(10))}'
    try:
        repaired = email.message_from_string(text, policy=email.policy.compat32)
    except Exception:
        return None
    return repaired if repaired.is_multipart() else None


def _is_header_block(lines: list[str], i: int) -> bool:
    """Three or more consecutive mail-header lines, one of them typical of a real header."""
    count = 0
    strong = False
    j = i
    while j < len(lines) and j < i + 40:
        line = lines[j]
        if line[:1] in (" ", "\t") and count:
            j += 1
            continue
        m = _FIELD.match(line)
        if not m:
            break
        name = m.group(1).lower()
        if name in DSN_FIELDS:
            return False
        if name not in _MAIL_HEADERS and not name.startswith("x-"):
            break
        count += 1
        strong = strong or name in _STRONG_HEADERS or name.startswith("x-")
        j += 1
    return count >= 3 and strong


def _split_notification(text: str) -> tuple[str, str | None]:
    """(notification text, text of the returned original or None)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if len(line) < 120 and _CUT_MARKER.search(line) and not _NOT_MARKER.search(line) \
                and "@" not in line:
            return "\n".join(lines[:i]), "\n".join(lines[i + 1:])
        if line[:1] not in (" ", "\t") and _is_header_block(lines, i):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return text, None


def _unquote(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and sum(ln.startswith(">") for ln in lines) * 2 >= len(lines):
        return _QUOTE.sub("", text)
    return text


# ---------------------------------------------------------------------------------------------
# Recipients from the human-readable text
# ---------------------------------------------------------------------------------------------
def _header_addresses(msg: Message, names: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for name in names:
        for value in msg.get_all(name, []) or []:
            for m in ADDRESS.finditer(_decode_header_value(value)):
                out.add(m.group(0).strip(".").lower())
    return out


_WEAK_BEFORE = re.compile(r"^\s*(to|cc|original[- ]?to)\s*:\s*[<\"']?\s*$", re.IGNORECASE)


def _occurrences(text: str, excluded: set[str]) -> list[tuple[int, str]]:
    """Positions of addresses in the notification that may be bounced recipients.

    An address right after "To:" at a line start (a summary of the original's headers) counts
    only when no other candidate is found; an address repeated on the same line counts once.
    """
    strong: list[tuple[int, str]] = []
    weak: list[tuple[int, str]] = []
    seen_on_line: set[tuple[int, str]] = set()
    for m in ADDRESS.finditer(text):
        addr = m.group(0).strip(".").lower()
        if not _VALID.match(addr) or addr in excluded:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if (line_start, addr) in seen_on_line:
            continue
        seen_on_line.add((line_start, addr))
        before = text[max(line_start, m.start() - 40): m.start()]
        if _NOT_RECIPIENT_BEFORE.search(before):
            continue
        if text[m.end(): m.end() + 1] == ">" and text[max(0, m.start() - 1): m.start()] == "<" and \
                re.search(r"id\W{0,3}$", before, re.IGNORECASE):
            continue
        (weak if _WEAK_BEFORE.match(text[line_start: m.start()]) else strong).append((m.start(), addr))
    if not strong:
        return weak
    strong_addrs = {a for _, a in strong}
    return sorted(strong + [(p, a) for p, a in weak if a in strong_addrs])


def _error_lines(text: str) -> str:
    """Lines of `text` that carry an error: an SMTP code or a phrase a text rule knows."""
    keep = []
    for line in text.splitlines():
        low = _WS.sub(" ", line).strip().lower()
        if not low or _SKIP_LINE.match(low):
            continue
        if find_reply_code(low) or find_status(low) or find_command(low) \
                or any(p.search(low) for _, p in R.TEXT_PATTERNS):
            keep.append(line.strip())
    return "\n".join(keep)


def _lead_in(text: str, start: int, max_lines: int = 3) -> str:
    """The lines just above `start` in the same paragraph that name no address (an error
    sentence printed before the address it is about)."""
    line_start = text.rfind("\n", 0, start) + 1
    lines = text[:line_start].splitlines()[-max_lines:]
    taken: list[str] = []
    for line in reversed(lines):
        if not line.strip() or ADDRESS.search(line):
            break
        taken.insert(0, line)
    return "\n".join(taken) + "\n" if taken else ""


def _segments(text: str, recipients: list[str], occurrences: list[tuple[int, str]]) -> dict[str, str]:
    """Text following each occurrence of a recipient, up to the next other recipient."""
    wanted = set(recipients)
    occ = [(pos, a) for pos, a in occurrences if a in wanted]
    starts = []
    prev_line = -1
    for pos, addr in occ:
        line_start = text.rfind("\n", 0, pos) + 1
        start = line_start if line_start != prev_line else pos
        prev_line = line_start
        starts.append((start, addr))
    out: dict[str, list[str]] = {a: [] for a in recipients}
    for i, (start, addr) in enumerate(starts):
        end = len(text)
        for nstart, naddr in starts[i + 1:]:
            if naddr != addr:
                end = nstart
                break
        chunk = text[start:end]
        if not out[addr]:
            chunk = _lead_in(text, start) + chunk
        if chunk and chunk not in out[addr]:
            out[addr].append(chunk)
    result = {}
    for addr, chunks in out.items():
        merged = []
        seen_spans: set[str] = set()
        for chunk in chunks:
            for line in chunk.splitlines():
                s = line.strip()
                if not s or s in seen_spans:
                    continue
                if _SKIP_LINE.match(s) and addr not in s.lower():
                    continue
                seen_spans.add(s)
                merged.append(s)
        result[addr] = "\n".join(merged)
    return result


# ---------------------------------------------------------------------------------------------
# Original message headers
# ---------------------------------------------------------------------------------------------
_WANTED = ("Message-ID", "X-SES-Message-ID", "To", "Cc", "From", "Subject", "Date")
_SKIP_X = re.compile(r"dkim|signature|received|spam|virus|ymail|filterresults|originating-ip|gm-message",
                     re.IGNORECASE)


def _original_headers(original: Message | None) -> dict[str, str]:
    if original is None:
        return {}
    out: dict[str, str] = {}
    try:
        items = list(original.items())
    except Exception:
        return {}
    canon = {w.lower(): w for w in _WANTED}
    x_count = 0
    for name, value in items:
        low = name.lower()
        if low in canon:
            key = canon[low]
        elif low.startswith("x-") and not _SKIP_X.search(low) and x_count < MAX_X_HEADERS:
            key = name.strip()
            x_count += 1
        else:
            continue
        if key in out:
            continue
        out[key] = (_collapse(_decode_header_value(value), MAX_HEADER_VALUE) or "")
    return out


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    m = re.search(r"<([^<>\s]+)>", value)
    v = m.group(1) if m else value.strip().strip("<>")
    return v or None


def _ses_message_id(headers: dict[str, str]) -> str | None:
    if headers.get("X-SES-Message-ID"):
        return headers["X-SES-Message-ID"].strip("<> ")
    mid = _message_id(headers.get("Message-ID"))
    if mid and "@" in mid:
        local, domain = mid.rsplit("@", 1)
        if domain.lower().endswith("amazonses.com"):
            return local
    return None


# ---------------------------------------------------------------------------------------------
# Main entry
# ---------------------------------------------------------------------------------------------
def parse(data: bytes) -> DsnResult:
    """Parse one mail (bytes). Never raises: a bad mail gives no recipients and a `problem`."""
    try:
        return _parse(data)
    except Exception as exc:  # a defensive net: one bad mail must not stop a batch
        return DsnResult([], f"unparseable mail: {type(exc).__name__}: {exc}"[:300], "none")


def _parse(data: bytes, depth: int = 0) -> DsnResult:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not data or not data.strip():
        return DsnResult([], "empty input")
    msg = email.message_from_bytes(bytes(data), policy=email.policy.compat32)
    if not msg.keys():
        return DsnResult([], "no mail headers")

    if "feedback-report" in str(msg.get("content-type", "")).lower():
        return DsnResult([], "a feedback report (complaint, RFC 5965), not a bounce")

    parts = _Parts()
    _collect(msg, parts)

    # Notification text: human-readable parts, cut before the returned original message.
    notification_parts = []
    inline_original = None
    for text in parts.texts:
        text = _unquote(text[:MAX_TEXT].replace("\r\n", "\n").replace("\r", "\n"))
        head, tail = _split_notification(text)
        notification_parts.append(head)
        if tail and inline_original is None:
            inline_original = tail
    notification = "\n".join(notification_parts)

    original = None
    for candidate in parts.originals:
        if candidate is not None and candidate.keys():
            original = candidate
            break
    if original is None and inline_original:
        original = _headers_from_text(inline_original)
    orig_headers = _original_headers(original)
    orig_id = _message_id(orig_headers.get("Message-ID"))
    ses_id = _ses_message_id(orig_headers)

    # Amazon SES bounce notification delivered as JSON (SNS e-mail subscription).
    ses = _ses_notification(parts.texts)
    if ses is not None:
        return ses

    # Structured DSN blocks.
    reporting = None
    groups: list[dict] = []
    per_message: dict = {}
    kind = "none"
    for text in parts.dsn:
        pm, gs = parse_dsn_fields(text)
        for k, v in pm.items():
            per_message.setdefault(k, v)
        groups.extend(gs)
    if groups:
        kind = "rfc3464"
    else:
        for text in parts.texts:
            pm, gs = parse_dsn_fields(_unquote(text[:MAX_TEXT]), require_action=True)
            if gs:
                for k, v in pm.items():
                    per_message.setdefault(k, v)
                groups.extend(gs)
        if groups:
            kind = "dsn-text"
    reporting = _strip_type(per_message.get("reporting-mta"))
    arrival = per_message.get("arrival-date")

    # Addresses that are not bounced recipients: the bounce's own addressees (usually our
    # sender), the original's sender, message ids. The addressees are only a soft exclusion: if
    # nothing else is left they are tried again (someone mailing themselves, anonymised mails).
    own = _header_addresses(msg, ("from", "to", "cc", "reply-to", "return-path", "sender",
                                  "delivered-to", "envelope-to", "errors-to"))
    try:
        for value in msg.get_all("received", []) or []:
            for m in re.finditer(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?", str(value), re.IGNORECASE):
                own.add(m.group(1).strip(".").lower())
    except Exception:
        pass
    excluded: set[str] = set()
    if original is not None:
        excluded |= _header_addresses(original, ("from", "sender", "return-path", "reply-to"))
    for mid in (orig_id, _message_id(str(msg.get("message-id", "") or ""))):
        if mid:
            excluded.add(mid.lower())

    failed_header = []
    for value in msg.get_all("x-failed-recipients", []) or []:
        failed_header += [m.group(0).strip(".").lower() for m in ADDRESS.finditer(str(value))]

    occurrences = _occurrences(notification, excluded | own)
    if not occurrences and not groups:
        ids = {mid.lower() for mid in (orig_id, _message_id(str(msg.get("message-id", "") or ""))) if mid}
        daemon = _header_addresses(msg, ("from", "sender", "return-path"))
        occurrences = [(pos, a) for pos, a in _occurrences(notification, ids) if a not in daemon]
    text_recipients: list[str] = []
    for _, addr in occurrences:
        if addr not in text_recipients:
            text_recipients.append(addr)
    for addr in failed_header:
        if addr not in text_recipients:
            text_recipients.append(addr)
    if failed_header:
        text_recipients = [a for a in text_recipients if a in failed_header]

    records: list[dict] = []
    if groups:
        used_text: set[str] = set()
        for g in groups:
            action = (g.get("action") or "").strip().lower() or None
            if action and action.split()[0] in NOT_BOUNCE_ACTIONS:
                continue
            addr = None
            for key in RECIPIENT_FIELDS:
                addr = clean_address(g.get(key))
                if addr:
                    break
            if addr is None:
                spare = [a for a in text_recipients if a not in used_text
                         and all(a != clean_address(x.get("final-recipient")) for x in groups)]
                if len(spare) >= 1:
                    addr = spare[0]
            if addr is None:
                continue
            used_text.add(addr)
            records.append({"recipient": addr, "group": g, "action": action})
    else:
        if not text_recipients and original is not None and _BOUNCE_HINT.search(notification):
            to = sorted(_header_addresses(original, ("to",)) - excluded)
            if len(to) == 1:
                text_recipients = to
        if text_recipients and not _is_bounce(msg, notification):
            return DsnResult([], "not a bounce: no delivery-failure wording", "none")
        delayed = _DELAY_HINT.search(_decode_header_value(msg.get("subject", "") or "")) \
            or _DELAY_HINT.search(notification)
        for addr in text_recipients:
            records.append({"recipient": addr, "group": {}, "action": "delayed" if delayed else None})
        kind = "text" if records else "none"

    # Per-recipient text: the notification cut at each occurrence of a bounced recipient (only
    # the recipients decided above cut it; other addresses, e.g. the sender named in an error
    # line, stay inside the segment).
    wanted = [rec["recipient"] for rec in records]
    seg_occurrences = [(p, a) for p, a in _occurrences(notification, set()) if a in wanted] \
        if groups else occurrences
    segments = _segments(notification, wanted, seg_occurrences)
    first_pos = seg_occurrences[0][0] if seg_occurrences else len(notification)
    preamble = _error_lines(notification[: notification.rfind("\n", 0, first_pos) + 1])

    if not records and depth < 3:
        # A bounce that wraps another bounce (a gateway returning the DSN it received).
        for candidate in parts.originals:
            if _looks_like_bounce(candidate):
                try:
                    inner = _parse(candidate.as_bytes(), depth + 1)
                except Exception:
                    continue
                if inner.recipients:
                    return inner
    if not records:
        problem = "no bounced recipient found"
        if not notification.strip() and not parts.dsn:
            problem = "no readable notification text"
        return DsnResult([], problem, "none")

    out: list[BouncedRecipient] = []
    seen: set[str] = set()
    for rec in records:
        addr = rec["recipient"]
        if addr in seen:
            continue
        seen.add(addr)
        g = rec["group"]
        segment = segments.get(addr, "")
        context = preamble
        if not segment and len(records) == 1 and len(text_recipients) <= 1:
            segment, context = _error_lines(notification), ""
        diag_field = g.get("diagnostic-code")
        diag = diag_field
        if diag and diag.lower().startswith("smtp;"):
            diag = diag[5:]
        found_by = "dsn" if kind == "rfc3464" else ("dsn-text" if kind == "dsn-text" else "text")
        if not diag and re.search(r"\(.{6,}\)", g.get("status") or ""):
            diag = g["status"]  # "4.0.0 (host.example: host name lookup failure)"
        if not diag or len(_WS.sub("", _strip_type(diag) or "")) < 4:
            seen_lines = set(segment.splitlines())
            context = "\n".join(ln for ln in context.splitlines() if ln not in seen_lines)
            extra = "\n".join(x for x in (segment, context) if x)
            diag = extra if _informative(extra) else diag
        elif segment and _MULTILINE_START.search(diag):
            diag = _multiline_reply(segment, diag)
        diagnostic = _collapse(diag)
        command = find_command(segment) or find_command(diag)
        status_field = find_status(g.get("status"))
        remote = _strip_type(g.get("remote-mta"))
        verdict = classify(
            status=g.get("status"),
            diagnostic=diagnostic,
            reply_code=find_reply_code(_strip_type(diagnostic) if diagnostic else None),
            action=rec["action"],
            remote_host=remote,
            smtp_command=command,
        )
        out.append(BouncedRecipient(
            recipient=addr,
            action=rec["action"] or ("failed" if found_by == "text" else None),
            status=status_field,
            diagnostic=diagnostic,
            reply_code=find_reply_code(diagnostic),
            remote_mta=_collapse(remote, MAX_HEADER_VALUE),
            reporting_mta=_collapse(reporting, MAX_HEADER_VALUE),
            arrival_date=_collapse(g.get("arrival-date") or arrival, MAX_HEADER_VALUE),
            smtp_command=command,
            original_message_id=orig_id,
            original_headers=dict(orig_headers),
            verdict=verdict,
            ses_message_id=ses_id,
            found_by=found_by,
        ))
    return DsnResult(out, None, kind)


def _json_objects(text: str) -> Iterator[dict]:
    decoder = json.JSONDecoder()
    pos = text.find("{")
    tries = 0
    while pos != -1 and tries < 20:
        tries += 1
        try:
            obj, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(obj, dict):
            yield obj
        pos = text.find("{", end)


def _ses_payload(obj: dict) -> dict | None:
    """The SES notification inside `obj` (itself, or an SNS envelope's Message string)."""
    if isinstance(obj.get("Message"), str):
        try:
            inner = json.loads(obj["Message"])
        except ValueError:
            return None
        obj = inner if isinstance(inner, dict) else {}
    kind = obj.get("notificationType") or obj.get("eventType")
    return obj if isinstance(kind, str) and isinstance(obj.get("mail"), dict) else None


def _ses_notification(texts: list[str]) -> DsnResult | None:
    """Recipients of an Amazon SES bounce notification whose body is the SES JSON (SNS e-mail
    subscription), classified with SES's bounceType/bounceSubType. None if no such JSON."""
    for text in texts:
        if "bounceType" not in text and "notificationType" not in text and "eventType" not in text:
            continue
        for obj in _json_objects(text[:MAX_TEXT]):
            payload = _ses_payload(obj)
            if payload is None:
                continue
            kind = str(payload.get("notificationType") or payload.get("eventType"))
            if kind != "Bounce" or not isinstance(payload.get("bounce"), dict):
                return DsnResult([], f"an Amazon SES {kind} notification, not a bounce")
            return _ses_bounce(payload)
    return None


def _ses_bounce(payload: dict) -> DsnResult:
    bounce, mail = payload["bounce"], payload["mail"]
    headers: dict[str, str] = {}
    common = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    for key, name in (("messageId", "Message-ID"), ("subject", "Subject"), ("date", "Date")):
        if isinstance(common.get(key), str):
            headers[name] = common[key]
    for key, name in (("to", "To"), ("from", "From")):
        if isinstance(common.get(key), list):
            headers[name] = ", ".join(str(x) for x in common[key])
    for h in mail.get("headers") or []:
        if isinstance(h, dict) and str(h.get("name", "")).lower().startswith("x-") \
                and not _SKIP_X.search(str(h.get("name"))) and len(headers) < MAX_X_HEADERS + 8:
            headers.setdefault(str(h["name"]), _collapse(str(h.get("value", "")), MAX_HEADER_VALUE) or "")
    ses_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None
    out = []
    for r in bounce.get("bouncedRecipients") or []:
        if not isinstance(r, dict):
            continue
        addr = clean_address(str(r.get("emailAddress", "")))
        if not addr:
            continue
        diag = r.get("diagnosticCode") if isinstance(r.get("diagnosticCode"), str) else None
        if diag and diag.lower().startswith("smtp;"):
            diag = diag[5:]
        diagnostic = _collapse(diag)
        action = str(r["action"]).lower() if r.get("action") else None
        status = r.get("status") if isinstance(r.get("status"), str) else None
        remote = bounce.get("remoteMtaIp") if isinstance(bounce.get("remoteMtaIp"), str) else None
        verdict = classify(status=status, diagnostic=diagnostic, action=action,
                           ses_bounce_type=str(bounce.get("bounceType") or "") or None,
                           ses_bounce_subtype=str(bounce.get("bounceSubType") or "") or None,
                           remote_host=remote)
        out.append(BouncedRecipient(
            recipient=addr, action=action, status=find_status(status), diagnostic=diagnostic,
            reply_code=find_reply_code(diagnostic), remote_mta=remote,
            reporting_mta=_collapse(str(bounce.get("reportingMTA") or ""), MAX_HEADER_VALUE) or None,
            arrival_date=_collapse(str(bounce.get("timestamp") or ""), MAX_HEADER_VALUE) or None,
            smtp_command=find_command(diagnostic), original_message_id=_message_id(headers.get("Message-ID")),
            original_headers=dict(headers), verdict=verdict, ses_message_id=ses_id, found_by="ses-json",
        ))
    if not out:
        return DsnResult([], "Amazon SES bounce notification without bounced recipients", "ses-json")
    return DsnResult(out, None, "ses-json")


_MULTILINE_START = re.compile(r"^\s*([45]\d\d)-")


def _multiline_reply(segment: str, diag: str) -> str:
    """Rebuild a multi-line SMTP reply ("552-5.7.0 ...", "552 5.7.0 ...") that the DSN field cut
    short, from the transcript lines of the human-readable part."""
    code = _MULTILINE_START.search(diag).group(1)
    pieces = []
    line_re = re.compile(r"^(?:<<<\s*)?" + code + r"[- ](?:[45]\.\d{1,3}\.\d{1,3}\s+)?(.*)$")
    for line in segment.splitlines():
        m = line_re.match(line.strip())
        if m:
            pieces.append(m.group(1).strip())
    rebuilt = " ".join(p for p in pieces if p)
    if len(rebuilt) > len(diag):
        status = find_status(diag)
        return f"{code} {status + ' ' if status else ''}{rebuilt}"
    return diag


def _informative(text: str) -> bool:
    """Some words or a code beyond the addresses themselves."""
    if not text:
        return False
    rest = ADDRESS.sub(" ", text)
    return bool(find_reply_code(rest) or find_status(rest) or len(re.sub(r"[\W\d_]+", "", rest)) >= 8)


def _looks_like_bounce(msg: Message) -> bool:
    try:
        if msg.get_content_type() == "multipart/report":
            return True
        sender = str(msg.get("from", "") or "")
        subject = _decode_header_value(msg.get("subject", "") or "")
    except Exception:
        return False
    return bool(re.search(r"mailer-daemon|postmaster|mail delivery", sender, re.IGNORECASE)
                and _BOUNCE_HINT.search(subject))


def _is_bounce(msg: Message, notification: str) -> bool:
    """Evidence that a mail without delivery-status fields is a bounce at all: a daemon sender,
    delivery-failure wording, or an SMTP reply code next to an error phrase the rules know."""
    subject = _decode_header_value(msg.get("subject", "") or "")
    sender = str(msg.get("from", "") or "")
    if re.search(r"mailer-daemon|post_?master|mail delivery|mail system", sender, re.IGNORECASE):
        return True
    if _BOUNCE_HINT.search(subject) or _BOUNCE_HINT.search(notification):
        return True
    low = _WS.sub(" ", notification).lower()
    return bool(find_reply_code(low) and any(p.search(low) for r, p in R.TEXT_PATTERNS if r != "vacation"))


# ---------------------------------------------------------------------------------------------
# Reading mails from disk
# ---------------------------------------------------------------------------------------------
_MAIL_SUFFIXES = (".eml", ".txt", ".mail", ".mbox", ".mbx")


def _is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def iter_mails(path: str | Path) -> Iterator[tuple[str, int, bytes]]:
    """Yield (source_name, index, bytes) for every mail under `path`.

    `path` may be one .eml file, an mbox file, a maildir (cur/new/tmp), or a folder holding any
    of these (searched recursively, in name order; hidden entries skipped). source_name is the
    path relative to `path` (the file name for a single file); index counts the mails within one
    mbox or maildir from 0 (always 0 for a single-mail file).
    """
    root = Path(path)
    yield from _iter(root, root.name if root.is_file() else "")


def _iter(p: Path, name: str) -> Iterator[tuple[str, int, bytes]]:
    if _is_maildir(p):
        md = mailbox.Maildir(str(p), factory=None, create=False)
        for i, key in enumerate(sorted(md.keys())):
            try:
                with md.get_file(key) as fh:
                    yield name or p.name, i, fh.read()
            except (OSError, KeyError):
                continue
        return
    if p.is_dir():
        for child in sorted(p.iterdir()):
            if child.name.startswith("."):
                continue
            child_name = f"{name}/{child.name}" if name else child.name
            is_mail_file = child.is_file() and (
                child.suffix.lower() in _MAIL_SUFFIXES or child.suffix == "" or _is_mbox(child))
            if child.is_dir() or is_mail_file:
                yield from _iter(child, child_name)
        return
    if not p.is_file():
        return
    if _is_mbox(p) and _mbox_count(p) > 1:
        box = mailbox.mbox(str(p), factory=None, create=False)
        try:
            for i, key in enumerate(box.keys()):
                try:
                    yield name, i, box.get_bytes(key)
                except (OSError, KeyError):
                    continue
        finally:
            box.close()
        return
    yield name, 0, p.read_bytes()


def _mbox_count(path: Path) -> int:
    """Number of 'From ' separator lines (a single mail saved with its envelope line counts 1)."""
    n = 0
    with path.open("rb") as fh:
        prev_blank = True
        for line in fh:
            if line.startswith(b"From ") and prev_blank:
                n += 1
                if n > 1:
                    return n
            prev_blank = not line.strip()
    return n
