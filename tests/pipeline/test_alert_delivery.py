"""Alerts delivered to people and systems: a webhook (a real local HTTP server, with injected failures),
Amazon SNS and SES e-mail (the moto server), once as far as any receiver can see, and the digest.

The database: portal p2 with 20 sends, then one hard bounce -> 1 / 20 = 5 % >= the 5 % warning of
tests/sql/test_rates_status.py's POLICY: ok -> approaching, alone and rolled up (two alerts)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from pipelines import cli as cli_mod
from pipelines import notify, warehouse
from pipelines.config import load_config
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports.policy import load_policy
from pipelines.warehouse import reads
from tests import sesdata as ses
from tests.sql.test_rates_status import POLICY, write_directory
from tests.support.webhook import TOKEN

REPO = Path(__file__).resolve().parents[2]
IN, LATER = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"
SECRET = "s3cret-signing-key"


def config_file(tmp_path: Path, channels: str) -> Path:
    path = tmp_path / "bouncedesk.toml"
    path.write_text(f'[alerts]\napp_url = "https://desk.example.org"\n{channels}')
    return path


def webhook(url: str, extra: str = "") -> str:
    return (f'[[alerts.channels]]\nname = "ops"\nkind = "webhook"\nurl = "{url}"\n'
            f'secret_env = "TEST_WEBHOOK_SECRET"\ntimeout_seconds = 1\n{extra}\n')


def main(capsys, *args: str) -> tuple[int, str, str]:
    code = cli_mod.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def portal_db(tmp_path, monkeypatch) -> dict:
    """The sources and database before the bounce (20 sends of p2: ok, no alert)."""
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    src, db, policy = tmp_path / "ses", tmp_path / "d.duckdb", tmp_path / "policy.toml"
    policy.write_text(POLICY)
    directory = write_directory(tmp_path / "dir")
    ses.write_object(src, "1", [ses.send(f"m{i}", f"d{i}@z.example", IN, portal="p2") for i in range(20)])
    return {"src": src, "db": db, "policy": policy, "directory": directory}


def refresh_cli(capsys, d: dict, cfg: Path, *extra: str) -> tuple[int, str, str]:
    return main(capsys, "refresh", "-q", "--source", str(d["src"]), "--directory", str(d["directory"]),
                "--db", str(d["db"]), "--policy", str(d["policy"]), "--config", str(cfg), *extra)


def bounce_p2(d: dict) -> None:
    ses.write_object(d["src"], "2", [ses.bounce("m0", "d0@z.example", IN, LATER, portal="p2")])


def deliveries(db: Path) -> list[dict]:
    with warehouse.reader(db, views=False) as con:
        return con.sql("select * from _alert_deliveries order by alert_id, channel").pl().to_dicts()


# --- webhook ------------------------------------------------------------------------------------

def test_a_refresh_posts_each_new_alert_once_signed_with_a_link_and_slack_text(tmp_path, portal_db,
                                                                                receiver, capsys):
    cfg = config_file(tmp_path, webhook(receiver.url))
    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert code == 0 and "delivery channel=ops delivered=0 failed=0" in out
    assert receiver.requests == []  # a first ok is not news

    bounce_p2(portal_db)
    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert code == 0
    # Two alerts (alone, rollup); the channel takes scope "alone" only (its default).
    assert "delivery channel=ops delivered=1 failed=0 undeliverable=0" in out
    assert out.strip().splitlines()[-1].startswith("load_id=2 ")  # the summary line stays last
    (headers, body), = receiver.requests
    doc = json.loads(body)
    with warehouse.reader(portal_db["db"], views=False) as con:
        alert_id = con.execute("select alert_id from _alerts where scope = 'alone'").fetchone()[0]
    assert doc["idempotency_key"] == alert_id == headers["X-Bouncedesk-Idempotency-Key"]
    assert (doc["portal_id"], doc["portal_name"], doc["from_status"], doc["to_status"]) == \
        ("p2", "Two", "ok", "approaching")
    assert (doc["hard_rate"], doc["sent"], doc["window"]) == (0.05, 20, "30d")  # 1 / 20
    assert doc["as_of"].startswith("2026-11-20T10:00:05")
    assert doc["link"] == "https://desk.example.org/portal?portal=p2"
    assert "p2 (Two) is now APPROACHING" in doc["text"] and "5.0 %" in doc["text"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Bouncedesk-Signature"] == expected

    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert "delivery channel=ops delivered=0 failed=0" in out
    assert len(receiver.requests) == 1  # nothing new: nothing sent again


def test_a_failing_channel_never_fails_the_refresh_is_retried_with_backoff_then_undeliverable(
        tmp_path, portal_db, receiver, capsys):
    cfg_path = config_file(tmp_path, webhook(receiver.url, "max_attempts = 3"))
    refresh_cli(capsys, portal_db, cfg_path)
    bounce_p2(portal_db)
    receiver.script.put(503)
    code, out, err = refresh_cli(capsys, portal_db, cfg_path)
    assert code == 0
    assert "delivery channel=ops delivered=0 failed=1 undeliverable=0 last_error='HTTP 503" in out
    assert "retried on the next refresh" in err
    cfg = notify.parse_alerts(load_config(cfg_path).alerts)
    (state,) = [d for d in deliveries(portal_db["db"]) if d["skipped_at"] is None]
    assert state["attempts"] == 1 and state["delivered_at"] is None
    first = state["last_attempt_at"]
    assert state["next_attempt_at"] - first == timedelta(minutes=1)

    # Before the backoff has passed: not tried again.
    assert notify.deliver(portal_db["db"], cfg, now=first + timedelta(seconds=30))[0].failed == 0
    assert len(receiver.requests) == 1
    # Second failure, a timeout this time: the next wait doubles (2 minutes).
    receiver.script.put("hang")
    (report,) = notify.deliver(portal_db["db"], cfg, now=first + timedelta(minutes=1))
    assert report.failed == 1 and report.errors == ["no answer within 1 s"]
    (state,) = [d for d in deliveries(portal_db["db"]) if d["skipped_at"] is None]
    assert state["next_attempt_at"] - state["last_attempt_at"] == timedelta(minutes=2)
    # Third attempt accepted: delivered, with the same key the failed attempts carried.
    (report,) = notify.deliver(portal_db["db"], cfg, now=first + timedelta(minutes=4))
    assert report.delivered == 1
    keys = {h["X-Bouncedesk-Idempotency-Key"] for h, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1
    # The URL's token never reaches an output, the stored state or the health read.
    with warehouse.reader(portal_db["db"], views=False) as con:
        health = reads.run(con, "channel_health", now=datetime.now(UTC)).to_dicts()
    assert TOKEN not in out + err + json.dumps(deliveries(portal_db["db"]), default=str) + str(health)
    assert health[0]["channel"] == "ops" and health[0]["delivered"] == 1


def test_an_alert_the_channel_never_accepts_becomes_undeliverable(tmp_path, portal_db, receiver, capsys):
    cfg_path = config_file(tmp_path, webhook(receiver.url, "max_attempts = 2"))
    refresh_cli(capsys, portal_db, cfg_path)
    bounce_p2(portal_db)
    for _ in range(3):
        receiver.script.put(500)
    refresh_cli(capsys, portal_db, cfg_path)
    cfg = notify.parse_alerts(load_config(cfg_path).alerts)
    (report,) = notify.deliver(portal_db["db"], cfg, now=datetime.now(UTC) + timedelta(hours=1))
    assert (report.failed, report.undeliverable) == (1, 1)
    # Given up: never tried again, and counted on Pipeline health.
    notify.deliver(portal_db["db"], cfg, now=datetime.now(UTC) + timedelta(days=1))
    assert len(receiver.requests) == 2
    with warehouse.reader(portal_db["db"], views=False) as con:
        (health,) = reads.run(con, "channel_health", now=datetime.now(UTC)).to_dicts()
    assert (health["undeliverable"], health["delivered"]) == (1, 0)
    assert health["last_error"] == "HTTP 500 Internal Server Error"


def test_killed_after_the_receiver_got_the_alert_it_is_redelivered_with_the_same_key(
        tmp_path, portal_db, receiver, capsys):
    cfg_path = config_file(tmp_path, webhook(receiver.url))
    refresh_cli(capsys, portal_db, cfg_path)
    bounce_p2(portal_db)
    policy = load_policy(portal_db["policy"])
    refresh(portal_db["db"], [LocalSource(portal_db["src"])], quiet=True, policy=policy)
    assert receiver.requests == []  # recorded in the outbox, not yet delivered

    env = {**os.environ, "BOUNCEDESK_DB": str(portal_db["db"])}
    command = [sys.executable, "-m", "pipelines", "alerts", "deliver", "--config", str(cfg_path)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The receiver has the alert; the sender dies before it hears "accepted" and can mark it.
    receiver.script.put(lambda: os.kill(proc.pid, signal.SIGKILL))
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert len(receiver.requests) == 1
    assert not [d for d in deliveries(portal_db["db"]) if d["delivered_at"] is not None]

    code, out, _ = main(capsys, "alerts", "deliver", "--config", str(cfg_path), "--db", str(portal_db["db"]))
    assert code == 0 and "delivered=1" in out
    first, second = (h["X-Bouncedesk-Idempotency-Key"] for h, _ in receiver.requests)
    assert first == second  # a repeat the receiver can drop
    main(capsys, "alerts", "deliver", "--config", str(cfg_path), "--db", str(portal_db["db"]))
    assert len(receiver.requests) == 2  # delivered: never again


def test_a_channel_added_later_does_not_replay_the_history(tmp_path, portal_db, receiver, capsys):
    policy = load_policy(portal_db["policy"])
    refresh(portal_db["db"], [LocalSource(portal_db["src"])], portal_db["directory"], quiet=True,
            policy=policy)
    bounce_p2(portal_db)
    refresh(portal_db["db"], [LocalSource(portal_db["src"])], quiet=True, policy=policy)  # the alerts
    cfg_path = config_file(tmp_path, webhook(receiver.url))
    code, out, _ = main(capsys, "alerts", "deliver", "--config", str(cfg_path), "--db", str(portal_db["db"]))
    assert code == 0 and "delivered=0" in out and receiver.requests == []


def test_the_test_command_sends_a_harmless_message_and_says_when_it_fails(tmp_path, receiver, capsys,
                                                                          monkeypatch):
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    cfg_path = config_file(tmp_path, webhook(receiver.url))
    code, out, _ = main(capsys, "alerts", "test", "--channel", "ops", "--config", str(cfg_path))
    assert code == 0 and out.strip() == "test channel=ops sent"
    (doc,) = receiver.documents()
    assert doc["type"] == "bouncedesk.test" and "nothing needs doing" in doc["text"]
    receiver.script.put(502)
    code, _, err = main(capsys, "alerts", "test", "--channel", "ops", "--config", str(cfg_path))
    assert code == 1 and "HTTP 502" in err and TOKEN not in err
    code, _, err = main(capsys, "alerts", "test", "--channel", "nope", "--config", str(cfg_path))
    assert code == 2 and "no alert channel named 'nope'" in err


@pytest.mark.parametrize(("channel", "message"), [
    ('name = "x"\nkind = "pager"', "kind must be one of webhook, sns, email"),
    ('name = "x"\nkind = "webhook"', "a webhook needs url, url_env or url_file"),
    ('name = "x"\nkind = "sns"\ntopic_arn = "arn:a"\ntransitions = ["worse"]',
     "transitions must be statuses"),
    ('name = "x"\nkind = "email"\nfrom = "a@b.c"\nto = "d@e.f"', "a list of to addresses"),
])
def test_a_wrong_channel_is_a_usage_error_before_anything_loads(tmp_path, portal_db, capsys, channel,
                                                                 message):
    cfg_path = config_file(tmp_path, f"[[alerts.channels]]\n{channel}\n")
    code, _, err = refresh_cli(capsys, portal_db, cfg_path)
    assert code == 2 and message in err
    assert not portal_db["db"].exists()


# --- SNS and e-mail on the moto server -----------------------------------------------------------

def test_sns_publishes_each_alert_with_attributes_a_subscriber_can_filter_on(tmp_path, portal_db, aws_env,
                                                                              capsys):
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="bouncedesk")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    cfg = config_file(tmp_path, f'[[alerts.channels]]\nname = "aws"\nkind = "sns"\ntopic_arn = "{topic}"\n'
                                'scopes = ["alone", "rollup"]\n')
    refresh_cli(capsys, portal_db, cfg)
    bounce_p2(portal_db)
    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert code == 0 and "delivery channel=aws delivered=2 failed=0" in out
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    envelopes = [json.loads(m["Body"]) for m in got]
    docs = sorted((json.loads(e["Message"]) for e in envelopes), key=lambda d: d["scope"])
    assert [(d["portal_id"], d["scope"], d["to_status"]) for d in docs] == \
        [("p2", "alone", "approaching"), ("p2", "rollup", "approaching")]
    attributes = envelopes[0]["MessageAttributes"]
    assert attributes["portal_id"]["Value"] == "p2" and attributes["to_status"]["Value"] == "approaching"


def test_a_failing_sns_channel_is_retried_not_fatal(tmp_path, portal_db, aws_env, capsys):
    cfg = config_file(tmp_path, '[[alerts.channels]]\nname = "aws"\nkind = "sns"\n'
                                'topic_arn = "arn:aws:sns:us-east-1:123456789012:missing"\n')
    refresh_cli(capsys, portal_db, cfg)
    bounce_p2(portal_db)
    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert code == 0 and "delivery channel=aws delivered=0 failed=1" in out and "AWS NotFound" in out


def test_email_goes_through_ses_to_every_address(tmp_path, portal_db, aws_env, moto_server, capsys):
    boto3.client("sesv2").create_email_identity(EmailIdentity="desk@example.org")
    cfg = config_file(tmp_path, '[[alerts.channels]]\nname = "managers"\nkind = "email"\n'
                                'from = "desk@example.org"\nto = ["am@example.org", "support@example.org"]\n')
    refresh_cli(capsys, portal_db, cfg)
    bounce_p2(portal_db)
    code, out, _ = refresh_cli(capsys, portal_db, cfg)
    assert code == 0 and "delivery channel=managers delivered=1 failed=0" in out
    # moto keeps what SES was asked to send: read it back over its HTTP API.
    (sent,) = json.loads(urllib_get(f"{moto_server}/moto-api/data.json"))["ses"]["Message"]
    assert sent["source"] == "desk@example.org"
    assert sent["destinations"]["ToAddresses"] == ["am@example.org", "support@example.org"]
    assert sent["subject"] == "bouncedesk: p2 (Two) is now APPROACHING (over the warning level) (was ok)"
    assert "hard-bounce rate 5.0 %" in sent["body"] and "portal?portal=p2" in sent["body"]


def urllib_get(url: str) -> str:
    import urllib.request

    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=10) as r:
        return r.read().decode()


# --- the daily digest ----------------------------------------------------------------------------

def test_a_digest_channel_gets_one_message_a_day_instead_of_one_per_change(tmp_path, portal_db, receiver,
                                                                           capsys):
    cfg_path = config_file(tmp_path, webhook(receiver.url, "digest = true\ndigest_hour = 6"))
    refresh_cli(capsys, portal_db, cfg_path)
    bounce_p2(portal_db)
    refresh_cli(capsys, portal_db, cfg_path)
    cfg = notify.parse_alerts(load_config(cfg_path).alerts)
    # A digest channel gets no message per change; the refreshes sent today's digest (when the clock
    # is past digest_hour), once.
    assert {d["type"] for d in receiver.documents()} <= {"bouncedesk.digest"}
    assert len(receiver.requests) <= 1
    receiver.requests.clear()
    day = datetime(2026, 11, 21, tzinfo=UTC)

    def run(now: datetime) -> int:
        policy = load_policy(portal_db["policy"])  # the refresh's: p2 is judged from 3 sends
        return notify.deliver(portal_db["db"], cfg, now=now, policy=policy)[0].delivered

    assert run(day.replace(hour=5)) == 0  # not due before digest_hour
    assert run(day.replace(hour=6)) == 1
    assert run(day.replace(hour=9)) == 0  # one a day
    (doc,) = receiver.documents()
    assert doc["type"] == "bouncedesk.digest" and doc["idempotency_key"] == "digest:ops:2026-11-21"
    # p2 is the one portal approaching (1 / 20); p3 and the rest have no mail.
    assert [(p["portal_id"], p["status"]) for p in doc["portals"]] == [("p2", "approaching")]
    # The account: 20 sends, 1 hard bounce = 5 %, at SES's 5 % warning.
    assert (doc["account"]["sent"], doc["account"]["hard_rate"], doc["account"]["status"]) == \
        (20, 0.05, "approaching")
    assert "Portals approaching or over (1):" in doc["text"]
    assert run(day + timedelta(days=1, hours=7)) == 1  # the next day's


def test_a_delivery_that_cannot_even_start_never_fails_the_committed_refresh(tmp_path, portal_db, receiver,
                                                                             capsys, monkeypatch):
    def busy(*args, **kwargs):
        raise warehouse.DatabaseBusy("refresh: the database is held by another process")

    monkeypatch.setattr(notify, "deliver", busy)
    code, out, err = refresh_cli(capsys, portal_db, config_file(tmp_path, webhook(receiver.url)))
    assert code == 0 and "committed=True" in out
    assert "alerts: delivery stopped (DatabaseBusy" in err and "wait for the next refresh" in err
