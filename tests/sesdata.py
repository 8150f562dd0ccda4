"""Tiny SES records for tests, shaped like the AWS examples in tests/fixtures/ses/."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def mail(message_id: str, recipients: list[str], sent: str, tags: dict | None = None,
         headers: list[dict] | None = None) -> dict:
    m = {
        "timestamp": sent,
        "source": "noreply@lms.example",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": recipients,
        "headersTruncated": False,
        "headers": headers or [{"name": "To", "value": ", ".join(recipients)}],
        "commonHeaders": {"to": recipients, "subject": "Welcome"},
    }
    if tags is not None:
        m["tags"] = {k: [v] for k, v in tags.items()}
    return m


def send(message_id: str, to: str | list[str], sent: str, portal: str | None = "p1",
         batch: str | None = None, mtype: str | None = "invitation", headers=None) -> dict:
    tags = {"ses:configuration-set": "cs"}
    if portal:
        tags["portal_id"] = portal
    if batch:
        tags["upload_batch_id"] = batch
    if mtype:
        tags["message_type"] = mtype
    rcpts = [to] if isinstance(to, str) else to
    return {"eventType": "Send", "mail": mail(message_id, rcpts, sent, tags, headers), "send": {}}


def delivery(message_id: str, to: str, sent: str, at: str, portal: str | None = "p1") -> dict:
    rec = send(message_id, to, sent, portal)
    rec["eventType"] = "Delivery"
    del rec["send"]
    rec["delivery"] = {"timestamp": at, "recipients": [to], "processingTimeMillis": 500,
                       "smtpResponse": "250 2.0.0 OK", "reportingMTA": "a8-1.smtp-out.amazonses.com"}
    return rec


def bounce(message_id: str, to: str, sent: str, at: str, portal: str | None = "p1",
           btype: str = "Permanent", subtype: str = "General", status: str = "5.1.1",
           diagnostic: str = "smtp; 550 5.1.1 user unknown", feedback: str | None = None) -> dict:
    rec = send(message_id, to, sent, portal)
    rec["eventType"] = "Bounce"
    del rec["send"]
    rec["bounce"] = {
        "bounceType": btype, "bounceSubType": subtype,
        "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": status,
                               "diagnosticCode": diagnostic}],
        "timestamp": at, "feedbackId": feedback or f"fb-{message_id}-{to}",
        "reportingMTA": "dsn; mx.example.net",
    }
    return rec


def notification(record: dict) -> dict:
    """The same event as an identity notification: notificationType, and no tags."""
    rec = json.loads(json.dumps(record))
    rec["notificationType"] = rec.pop("eventType")
    rec["mail"].pop("tags", None)
    return rec


def sns_envelope(record: dict) -> dict:
    return {"Type": "Notification", "MessageId": "sns-" + record["mail"]["messageId"],
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses", "Message": json.dumps(record),
            "Timestamp": "2026-11-20T10:00:00.000Z"}


def write_object(folder: Path, key: str, records: list[dict], *, gz: bool = True,
                 newline: bool = False) -> Path:
    """Write records as Firehose would: concatenated (or NDJSON), gzip by default, no extension."""
    sep = "\n" if newline else ""
    data = sep.join(json.dumps(r, separators=(",", ":")) for r in records).encode()
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
