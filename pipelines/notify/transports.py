"""Sending one message through one channel. A send returns when the channel accepted the message and
raises `DeliveryFailed` otherwise (timeout, refused, 5xx, bad credentials): the outbox retries it.

Errors name the channel's answer (an HTTP status, an AWS error code), never its URL or credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from pipelines.notify.channels import Channel
from pipelines.notify.message import Message

SIGNATURE_HEADER = "X-Bouncedesk-Signature"
KEY_HEADER = "X-Bouncedesk-Idempotency-Key"


class DeliveryFailed(Exception):
    """The channel did not accept the message; the text is safe to store and show."""


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body under the channel's secret, as the header carries it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(channel: Channel, message: Message) -> None:
    {"webhook": _webhook, "sns": _sns, "email": _email}[channel.kind](channel, message)


def _webhook(channel: Channel, message: Message) -> None:
    url = channel.secret("url")
    body = message.body()
    headers = {"Content-Type": "application/json", "User-Agent": "bouncedesk", KEY_HEADER: message.key}
    secret = channel.secret("secret")
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"unreachable: {type(exc.reason).__name__}") from None
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {channel.timeout_seconds:g} s") from None
    except OSError as exc:
        raise DeliveryFailed(f"connection failed: {type(exc).__name__}") from None


def _client(channel: Channel, service: str):
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=channel.timeout_seconds, read_timeout=channel.timeout_seconds,
                    retries={"max_attempts": 1})
    return boto3.client(service, region_name=channel.settings.get("region"),
                        endpoint_url=channel.settings.get("endpoint_url"), config=config)


def _aws(call) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        call()
    except ClientError as exc:
        raise DeliveryFailed(f"AWS {exc.response.get('Error', {}).get('Code', 'error')}") from None
    except BotoCoreError as exc:
        raise DeliveryFailed(f"AWS {type(exc).__name__}") from None


def _sns(channel: Channel, message: Message) -> None:
    doc = message.document
    attributes = {"type": doc["type"]}
    for name in ("portal_id", "to_status", "from_status", "scope"):
        if doc.get(name):
            attributes[name] = str(doc[name])
    client = _client(channel, "sns")
    _aws(lambda: client.publish(
        TopicArn=channel.settings["topic_arn"], Message=json.dumps(doc, default=str, sort_keys=True),
        Subject=message.subject[:100],
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    ))


def _email(channel: Channel, message: Message) -> None:
    client = _client(channel, "sesv2")
    _aws(lambda: client.send_email(
        FromEmailAddress=channel.settings["from"],
        Destination={"ToAddresses": list(channel.settings["to"])},
        Content={"Simple": {
            "Subject": {"Data": message.subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"},
                     "Html": {"Data": message.html, "Charset": "UTF-8"}},
        }},
        EmailTags=[{"Name": "bouncedesk", "Value": message.document["type"].replace(".", "-")}],
    ))
