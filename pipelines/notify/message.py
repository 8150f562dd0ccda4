"""What a channel sends: one document per alert or digest, rendered as JSON, Slack text and e-mail.

The JSON document is the contract with receivers (webhook body, SNS message): its `idempotency_key`
is the same on every redelivery, so a receiver that stores the keys it has seen can drop a repeat.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

_WORDS = {"disabled": "DISABLED (mail switched off)", "exceeded": "EXCEEDED (over the cutoff)",
          "approaching": "APPROACHING (over the warning level)", "ok": "back to ok",
          "insufficient_volume": "not judged (too few sends)"}


@dataclass(frozen=True)
class Message:
    key: str                  # the idempotency key: an alert's id, or digest:<channel>:<day>
    subject: str
    text: str                 # plain text, also Slack's `text`
    html: str
    document: dict[str, Any]  # the JSON body

    def body(self) -> bytes:
        """The raw JSON bytes sent (and signed): compact, keys in a fixed order."""
        return json.dumps(self.document, separators=(",", ":"), sort_keys=True, default=str).encode()


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def _when(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def portal_link(app_url: str, portal_id: str, rollup: bool = False) -> str:
    query = {"portal": portal_id, **({"rollup": "1"} if rollup else {})}
    return f"{app_url}portal?{urlencode(query)}"


def alert_message(alert: dict[str, Any], app_url: str) -> Message:
    """One status change (a row of queries/reads/alert_outbox.sql) as a message."""
    who = alert["portal_id"] + (f" ({alert['name']})" if alert.get("name") else "")
    if alert["scope"] == "rollup":
        who += " with its sub-portals"
    link = portal_link(app_url, alert["portal_id"], alert["scope"] == "rollup")
    was = alert["from_status"] or "new"
    figures = (f"hard-bounce rate {_pct(alert['hard_rate'])}, "
               f"complaint rate {_pct(alert['complaint_rate'], 2)} on {alert['sent'] or 0:,} sends "
               f"over {alert.get('deciding_window') or 'the window'}, as of {_when(alert['as_of'])}")
    headline = f"bouncedesk: {who} is now {_WORDS.get(alert['to_status'], alert['to_status'])} (was {was})"
    document = {
        "type": "bouncedesk.alert",
        "idempotency_key": alert["alert_id"],
        "alert_id": alert["alert_id"],
        "portal_id": alert["portal_id"],
        "portal_name": alert.get("name"),
        "scope": alert["scope"],
        "from_status": alert["from_status"],
        "to_status": alert["to_status"],
        "hard_rate": alert["hard_rate"],
        "complaint_rate": alert["complaint_rate"],
        "sent": alert["sent"],
        "window": alert.get("deciding_window"),
        "as_of": None if alert["as_of"] is None else alert["as_of"].isoformat(),
        "recorded_at": alert["recorded_at"].isoformat(),
        "link": link,
        "text": f"{headline}: {figures}. <{link}|Open the portal>",
    }
    text = f"{headline}.\n\n{figures[0].upper()}{figures[1:]}.\n\nOpen the portal: {link}\n"
    body = (f"<p><strong>{html.escape(headline)}</strong></p><p>{html.escape(figures)}.</p>"
            f'<p><a href="{html.escape(link)}">Open the portal in bouncedesk</a></p>')
    return Message(alert["alert_id"], headline, text, body, document)


def digest_message(key: str, day: str, digest: dict[str, Any], app_url: str) -> Message:
    """The daily digest (`notify.digest.digest_figures`) as a message."""
    account = digest["account"]
    lines = [f"bouncedesk daily digest, {day}"]
    if account is None:
        lines.append("No sends in the account's window: nothing for SES to judge.")
    else:
        lines.append(
            f"Account (what SES reviews), last {account['window_days']} days: hard bounces "
            f"{_pct(account['hard_rate'], 2)} (SES warning {_pct(account['warning'], 0)}, cutoff "
            f"{_pct(account['cutoff'], 0)}), complaints {_pct(account['complaint_rate'], 3)} "
            f"on {account['sent']:,} sends: {account['status']}.")
    at_risk = digest["portals"]
    lines.append(f"Portals approaching or over ({len(at_risk)}):" if at_risk
                 else "No portal is approaching or over.")
    lines += [f"  {p['status']:<11} {p['portal_id']} {p['name'] or ''}: {_pct(p['hard_rate'])} "
              f"on {p['sent']:,} sends  {portal_link(app_url, p['portal_id'])}" for p in at_risk]
    movers = digest["movers"]
    if movers:
        lines.append("Biggest movers since yesterday (judged hard-bounce rate):")
        lines += [f"  {m['portal_id']} {m['name'] or ''}: {_pct(m['before'])} -> {_pct(m['after'])} "
                  f"({m['change'] * 100:+.1f} points)" for m in movers]
    text = "\n".join(lines) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    subject = f"bouncedesk digest {day}: {len(at_risk)} portal(s) approaching or over"
    document = {"type": "bouncedesk.digest", "idempotency_key": key, "day": day, **digest, "text": text}
    return Message(key, subject, text, body, document)


def test_message(channel: str, now: datetime) -> Message:
    """The harmless message of `alerts test`: says what it is, changes nothing."""
    key = f"test:{channel}:{now:%Y%m%dT%H%M%S}"
    headline = f"bouncedesk: test message for channel {channel}"
    text = f"{headline}, sent {_when(now)}. No portal changed status; nothing needs doing.\n"
    document = {"type": "bouncedesk.test", "idempotency_key": key, "channel": channel,
                "sent_at": now.isoformat(), "text": text}
    return Message(key, headline, text, f"<p>{html.escape(text)}</p>", document)
