"""Telling people and systems: the alert outbox delivered to webhooks, Amazon SNS and e-mail (SES),
once per alert as far as any receiver can see, and the daily digest.

Reads the warehouse and the reports (the digest's figures); writes only the delivery state. The
command line runs it after a refresh commits; the loader never waits on a channel."""

from pipelines.notify.channels import AlertsConfig, Channel, ChannelError, parse_alerts
from pipelines.notify.deliver import ChannelReport, deliver, send_test
from pipelines.notify.transports import DeliveryFailed

__all__ = ["AlertsConfig", "Channel", "ChannelError", "ChannelReport", "DeliveryFailed", "deliver",
           "parse_alerts", "send_test"]
