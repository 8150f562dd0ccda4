"""Bounce logs beside SES exports: bounce mails (.eml, mbox, maildir files) and CSV bounce logs.

Objects reach the loader through the same sources, manifest and quarantine as SES exports; this
module tells the kinds apart by their bytes and turns a log object into classified bounce rows
(`LogBounce`), or rejects with a reason. The staging SQL makes them facts (source = log).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from pipelines.bounces import dsn
from pipelines.bounces.classify import classify
from pipelines.config import Attribution

_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{0,60}:[ \t]?\S", re.MULTILINE)
_MAIL_HEADERS = (b"received:", b"return-path:", b"from:", b"subject:", b"date:", b"message-id:",
                 b"delivered-to:", b"mime-version:", b"content-type:", b"to:", b"x-")
EXCERPT = 200

# CSV log columns: the first name present wins (case-insensitive). Overridable per refresh.
DEFAULT_CSV_COLUMNS = {
    "email": ("email", "recipient", "address", "email_address", "rcpt", "to"),
    "time": ("time", "timestamp", "date", "bounced_at", "event_time", "created_at"),
    "diagnostic": ("diagnostic", "reason", "diagnostic_code", "error", "message", "response", "description"),
    "status": ("status", "status_code", "enhanced_status", "dsn_status", "code"),
    "portal": ("portal", "portal_id", "tenant"),
    "message_id": ("message_id", "ses_message_id", "messageid"),
}


@dataclass(frozen=True)
class LogBounce:
    source: str
    object_key: str
    record_index: int
    recipient: str
    event_at: datetime | None
    sent_at: datetime | None
    message_id: str | None
    bounce_class: str
    reason: str
    status_code: str | None
    diagnostic: str | None
    action: str | None
    reporting_mta: str | None
    portal_id: str | None
    upload_batch_id: str | None
    message_type: str | None
    attribution: str | None


@dataclass(frozen=True)
class LogReject:
    record_index: int | None
    reason: str
    excerpt: str


def kind_of(data: bytes) -> str:
    """'ses' (JSON), 'mail' (one RFC 822 mail or an mbox) or 'csv', from the first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    if head[:1] in (b"{", b"["):
        return "ses"
    if head.startswith(b"From ") and b"\n" in head:
        return "mail"
    lines = head.split(b"\n", 2)
    first = lines[0].lower()
    # A header block: a known header, then another header or a folded continuation. One header-like
    # line glued to JSON (`return-path:{"eventType"...`) is junk before SES records, not a mail.
    second = lines[1] if len(lines) > 1 else b""
    continues = second[:1] in (b" ", b"\t") or bool(_HEADER_LINE.match(second))
    if first.startswith(_MAIL_HEADERS) and _HEADER_LINE.match(head) and continues:
        return "mail"
    # A CSV bounce log starts with a header naming an email column; anything else goes to the SES
    # path, which quarantines junk record by record instead of losing the JSON after it.
    if b"{" not in first:
        fields = {f.strip(b' "\'\r').decode("ascii", "replace") for f in re.split(rb"[,;\t]", first)}
        if fields & set(DEFAULT_CSV_COLUMNS["email"]):
            return "csv"
    return "ses"  # let the SES path name what is wrong with it


def mails_in(data: bytes) -> list[bytes]:
    """One mail, or each mail of an mbox ("From " separator lines)."""
    if not data.lstrip().startswith(b"From "):
        return [data]
    parts = re.split(rb"(?m)^From [^\n]*\n", data.lstrip())
    return [p for p in parts if p.strip()]


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower() and value.strip():
            return value.strip()
    return None


def _from_ses_tags(headers: dict[str, str], tag: str) -> str | None:
    tags = _header(headers, "X-SES-MESSAGE-TAGS")
    if not tags:
        return None
    m = re.search(r"(?:^|,)\s*" + re.escape(tag) + r"\s*=\s*([^,]*)", tags)
    return m.group(1).strip() or None if m else None


def mail_bounces(source: str, key: str, data: bytes, attribution: Attribution
                 ) -> tuple[list[LogBounce], list[LogReject]]:
    rows: list[LogBounce] = []
    rejects: list[LogReject] = []
    for index, mail in enumerate(mails_in(data)):
        result = dsn.parse(mail)
        if not result.recipients:
            text = mail[:EXCERPT].decode("utf-8", errors="replace")
            rejects.append(LogReject(index, f"bounce mail without a bounced recipient: "
                                            f"{result.problem or 'nothing recognised'}", text))
            continue
        for r in result.recipients:
            h = r.original_headers
            portal = _header(h, attribution.portal_header) or _from_ses_tags(h, attribution.portal_tag)
            batch = _header(h, attribution.batch_header) or _from_ses_tags(h, attribution.batch_tag)
            mtype = _header(h, attribution.type_header) or _from_ses_tags(h, attribution.type_tag)
            rows.append(LogBounce(
                source=source, object_key=key, record_index=index, recipient=r.sent_to,
                event_at=_parse_time(r.arrival_date) or _parse_time(_mail_date(mail)),
                sent_at=_parse_time(_header(h, "Date")),
                message_id=r.ses_message_id or r.original_message_id,
                bounce_class=r.verdict.bounce, reason=r.verdict.reason,
                status_code=r.verdict.status, diagnostic=r.diagnostic, action=r.action,
                reporting_mta=r.reporting_mta, portal_id=portal,
                upload_batch_id=batch, message_type=mtype,
                attribution="header" if portal else None,
            ))
    return rows, rejects


def _mail_date(mail: bytes) -> str | None:
    m = re.search(rb"(?im)^Date:[ \t]*([^\r\n]+)", mail[:20000])
    return m.group(1).decode("ascii", errors="replace") if m else None


def csv_bounces(source: str, key: str, data: bytes, columns: dict[str, tuple[str, ...]] | None = None
                ) -> tuple[list[LogBounce], list[LogReject]]:
    """A CSV bounce log: one row per bounce; email and diagnostic (or status) are needed."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = {f.strip().lower(): f for f in (reader.fieldnames or []) if f}
    wanted = {**DEFAULT_CSV_COLUMNS, **(columns or {})}
    pick = {name: next((fields[c] for c in cands if c in fields), None) for name, cands in wanted.items()}
    if pick["email"] is None or (pick["diagnostic"] is None and pick["status"] is None):
        return [], [LogReject(None, "CSV bounce log without an email column and a reason or status column "
                                    f"(found: {', '.join(fields) or 'no header'})", text[:EXCERPT])]
    rows, rejects = [], []
    for index, row in enumerate(reader):
        address = (row.get(pick["email"]) or "").strip().lower()
        if "@" not in address:
            rejects.append(LogReject(index, "CSV row without a valid email address",
                                     ",".join(str(v) for v in row.values())[:EXCERPT]))
            continue
        diagnostic = (row.get(pick["diagnostic"]) or "").strip() if pick["diagnostic"] else ""
        status = (row.get(pick["status"]) or "").strip() if pick["status"] else ""
        verdict = classify(status=status or None, diagnostic=diagnostic or None)
        at = _parse_time(row.get(pick["time"])) if pick["time"] else None
        portal = (row.get(pick["portal"]) or "").strip() or None if pick["portal"] else None
        rows.append(LogBounce(
            source=source, object_key=key, record_index=index, recipient=address, event_at=at,
            sent_at=at, message_id=((row.get(pick["message_id"]) or "").strip() or None)
            if pick["message_id"] else None,
            bounce_class=verdict.bounce, reason=verdict.reason, status_code=verdict.status,
            diagnostic=diagnostic[:1000] or None, action="failed", reporting_mta=None,
            portal_id=portal, upload_batch_id=None, message_type=None,
            attribution="log" if portal else None,
        ))
    return rows, rejects
