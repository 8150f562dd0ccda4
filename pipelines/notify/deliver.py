"""Delivering the alert outbox: after a refresh commits, every channel gets what it has not yet
accepted, each alert marked delivered only once the channel accepted it.

The commit writes the alerts (reports.alerts, in the load's transaction); this runs after it, so a
failing channel never fails nor holds up a load. A failed attempt is retried on later runs with
backoff, up to the channel's `max_attempts`, then shown as undeliverable on Pipeline health. A crash
between the channel's acceptance and the mark leads to one redelivery with the same idempotency key,
which the receiver can drop: nothing is lost, at worst repeated.

Runs under the refresh lock (one deliverer at a time, so two schedulers never both send an alert),
holding the database file only for each short read and each mark, never while a channel answers.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines import warehouse
from pipelines.notify import digest, message, transports
from pipelines.notify.channels import AlertsConfig, Channel, ChannelError
from pipelines.reports.policy import Policy
from pipelines.warehouse import catalog, reads

# Backoff: 1, 2, 4, ... minutes after each failure, at most 6 hours; retried on the first run after.
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When a delivery that has failed `attempts` times is tried again."""
    return now + min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


@dataclass
class ChannelReport:
    channel: str
    delivered: int = 0
    failed: int = 0
    undeliverable: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        error = f" last_error={self.errors[-1]!r}" if self.errors else ""
        return (f"delivery channel={self.channel} delivered={self.delivered} failed={self.failed} "
                f"undeliverable={self.undeliverable}{error}")


def deliver(db: Path, config: AlertsConfig, now: datetime | None = None, policy: Policy | None = None,
            since_load_id: int | None = None, quiet: bool = True,
            wait_seconds: float = 0.0) -> list[ChannelReport]:
    """Send every channel's due alerts (and its digest, when due, judged under `policy`); one report per
    channel. A channel new to the database delivers what loads from `since_load_id` on record (the
    refresh passes the load it just committed), else from the next load. Raises `RefreshLocked` when
    another refresh or delivery holds the lock (the alerts wait for the next run). A failure is said
    on stderr even when `quiet`: it is not progress."""
    if not config.channels:
        return []
    now = now or datetime.now(UTC)
    with warehouse.refresh_lock(db, wait_seconds):
        _register(db, config.channels, since_load_id)
        return [_deliver_channel(db, config, channel, now, policy) for channel in config.channels]


def send_test(config: AlertsConfig, name: str, now: datetime | None = None) -> None:
    """`alerts test --channel NAME`: one harmless message through the channel; raises DeliveryFailed."""
    channel = config.channel(name)
    try:
        transports.send(channel, message.test_message(channel.name, now or datetime.now(UTC)))
    except ChannelError as exc:
        raise transports.DeliveryFailed(str(exc)) from None


def _register(db: Path, channels: tuple[Channel, ...], since_load_id: int | None) -> None:
    frame = pl.DataFrame({"channel": [c.name for c in channels], "kind": [c.kind for c in channels]})
    with warehouse.writer(db) as con:
        catalog.create_schema(con)
        con.execute("begin")
        catalog.run_script(con, "deliver/register_channels.sql", {"since_load_id": since_load_id},
                           tables={"channels": frame})
        con.execute("commit")


def _deliver_channel(db: Path, config: AlertsConfig, channel: Channel, now: datetime,
                     policy: Policy | None) -> ChannelReport:
    report = ChannelReport(channel.name)
    if channel.digest:
        due = _due_digest(db, channel, now, config.app_url, policy)
        if due is not None:
            _attempt(db, channel, due, now, report)
        return _said(report)
    with warehouse.reader(db, views=False) as con:
        outbox = reads.run(con, "alert_outbox", channel=channel.name, now=now).to_dicts()
    for alert in outbox:
        if not channel.wants(alert["portal_id"], alert["scope"], alert["to_status"]):
            _mark(db, alert["alert_id"], channel, alert, now, skipped=True)
            report.skipped += 1
            continue
        _attempt(db, channel, (message.alert_message(alert, config.app_url), alert), now, report)
    return _said(report)


def _due_digest(db: Path, channel: Channel, now: datetime, app_url: str, policy: Policy | None):
    """Today's digest, when it is due and not yet delivered or given up: (message, state) or None."""
    if now.hour < channel.digest_hour:
        return None
    key = f"digest:{channel.name}:{now:%Y-%m-%d}"
    with warehouse.reader(db) as con:
        state = reads.run(con, "alert_delivery", alert_id=key, channel=channel.name).to_dicts()
        state = state[0] if state else {"attempts": 0, "first_attempt_at": None}
        if state.get("delivered_at") or state.get("gave_up_at") or (
                state.get("next_attempt_at") and state["next_attempt_at"] > now):
            return None
        figures = digest.digest_figures(con, policy)
    return message.digest_message(key, f"{now:%Y-%m-%d}", figures, app_url), state


def _attempt(db: Path, channel: Channel, item: tuple[message.Message, dict], now: datetime,
             report: ChannelReport) -> None:
    msg, state = item
    try:
        transports.send(channel, msg)
    except (transports.DeliveryFailed, ChannelError) as exc:
        attempts = state["attempts"] + 1
        gave_up = attempts >= channel.max_attempts
        _mark(db, msg.key, channel, state, now, error=str(exc), gave_up=gave_up)
        report.failed += 1
        report.undeliverable += gave_up
        report.errors.append(str(exc))
        return
    _mark(db, msg.key, channel, state, now, delivered=True)
    report.delivered += 1


def _mark(db: Path, key: str, channel: Channel, state: dict, now: datetime, *, delivered: bool = False,
          skipped: bool = False, gave_up: bool = False, error: str | None = None) -> None:
    attempts = state["attempts"] + (0 if skipped else 1)
    failed = not (delivered or skipped or gave_up)
    row = {
        "alert_id": key, "channel": channel.name, "attempts": attempts,
        "first_attempt_at": None if skipped else (state.get("first_attempt_at") or now),
        "last_attempt_at": None if skipped else now,
        "next_attempt_at": next_attempt(attempts, now) if failed else None,
        "delivered_at": now if delivered else None,
        "gave_up_at": now if gave_up else None,
        "skipped_at": now if skipped else None,
        "last_error": error,
    }
    times = ("first_attempt_at", "last_attempt_at", "next_attempt_at", "delivered_at", "gave_up_at",
             "skipped_at")
    schema = {"attempts": pl.Int32, **dict.fromkeys(times, pl.Datetime("us", "UTC")),
              "alert_id": pl.String, "channel": pl.String, "last_error": pl.String}
    frame = pl.DataFrame([row], schema=schema)
    with warehouse.writer(db) as con:
        con.execute("begin")
        catalog.run_script(con, "deliver/record_attempt.sql", tables={"attempt": frame})
        con.execute("commit")


def _said(report: ChannelReport) -> ChannelReport:
    if report.failed:
        print(f"alert channel {report.channel}: {report.failed} failed ({report.errors[-1]}); retried on the "
              "next refresh", file=sys.stderr)
    return report
