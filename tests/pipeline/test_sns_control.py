"""SNS control messages are not malformed input: SNS's subscription and unsubscription confirmations,
SES's test message when it validates an event destination's topic, and SES's notice that a feedback
topic was subscribed are read, counted as skipped, never quarantined, and never fail their object.

The envelopes are synthetic, shaped like the examples in the SNS developer guide
(http-subscription-confirmation-json, http-unsubscribe-confirmation-json) and the message SES
publishes when an SNS event destination is added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest import stage
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.ingest.summary import RefreshSummary
from tests import sesdata as ses

HOUR = "2026/11/20/10/"
T0 = "2026-11-20T10:00:00.000Z"
T1 = "2026-11-20T10:00:05.000Z"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
SIGNED = {"SignatureVersion": "1", "Signature": "c2lnbmF0dXJl",
          "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem"}


def confirmation(kind: str = "SubscriptionConfirmation") -> dict:
    verb = "subscribe" if kind == "SubscriptionConfirmation" else "unsubscribe"
    return {
        "Type": kind, "MessageId": f"165545c9-2a5c-472c-8df2-7ff2be2b3b1b-{verb}",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3" * 2,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to {verb} to the topic {TOPIC}.\nTo confirm, visit the "
                   f"{'SubscribeURL' if verb == 'subscribe' else 'SubscribeURL to resubscribe'}.",
        "SubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}"
                        "&Token=2336412f37",
        "Timestamp": T0, **SIGNED,
    }


def validation_test() -> dict:
    """What SES publishes to a topic when an SNS event destination is added: plain text, not JSON."""
    return {
        "Type": "Notification", "MessageId": "0ec3ac6d-9f51-5389-a925-f287c0aac55e", "TopicArn": TOPIC,
        "Message": "Successfully validated SNS topic for Amazon SES event publishing.",
        "Timestamp": T0, **SIGNED,
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1",
    }


def feedback_topic_subscribed() -> dict:
    """What SES publishes when an identity's bounce/complaint notifications are pointed at a topic."""
    notice = {"notificationType": "AmazonSnsSubscriptionSucceeded",
              "message": f"You have successfully subscribed your Amazon SNS topic '{TOPIC}' to receive "
                         "'Bounce' notifications from Amazon SES for identity 'lms.example'."}
    return {"Type": "Notification", "MessageId": "9b7e2f1c-0d4a-4c39-9a57-0c1f3f2a8e11", "TopicArn": TOPIC,
            "Message": json.dumps(notice), "Timestamp": T0, **SIGNED}


def bounce_notification() -> dict:
    return {**ses.sns_envelope(ses.notification(ses.bounce("m1", "bob@b.example", T0, T1))), **SIGNED}


def q(db: Path, sql: str) -> list[tuple]:
    with warehouse.reader(db) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def staged(monkeypatch) -> list[dict]:
    """What each Stager.build of the test returned (the counts refresh turns into its summary)."""
    built: list[dict] = []
    real = stage.Stager.build
    monkeypatch.setattr(stage.Stager, "build", lambda self: built.append(real(self)) or built[-1])
    return built


def write_json(folder: Path, key: str, record: dict) -> None:
    """One SNS message per file, as a saved SQS message body or an HTTP endpoint's log would hold it."""
    path = folder / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")


def test_control_messages_are_skipped_not_quarantined(tmp_path, staged):
    src = tmp_path / "sns"
    write_json(src, HOUR + "confirm.json", confirmation())
    write_json(src, HOUR + "unconfirm.json", confirmation("UnsubscribeConfirmation"))
    write_json(src, HOUR + "validated.json", validation_test())
    write_json(src, HOUR + "subscribed.json", feedback_topic_subscribed())
    write_json(src, HOUR + "bounce.json", bounce_notification())
    db = tmp_path / "d.duckdb"
    summary = refresh(db, [LocalSource(src)], quiet=True)
    assert summary.committed and summary.objects_failed == 0
    assert summary.records_quarantined == 0 and summary.records_loaded == 1
    assert staged[-1]["skipped"] == 4 and staged[-1]["quarantined"] == 0
    assert q(db, "select count(*) from _quarantine") == [(0,)]
    manifest = dict((k.rsplit("/", 1)[-1], rest) for k, *rest in q(
        db, "select object_key, status, records, quarantined, skipped, error from _ingest_objects"))
    for name in ("confirm.json", "unconfirm.json", "validated.json", "subscribed.json"):
        assert manifest[name] == ["ok", 0, 0, 1, None], name
    assert manifest["bounce.json"] == ["ok", 1, 0, 0, None]
    assert q(db, "select event_type, recipient, source_kind from fct_recipient_events") == [
        ("Bounce", "bob@b.example", "ses_notification")]


def test_control_messages_beside_records_leave_the_object_ok(tmp_path, staged):
    src = tmp_path / "sns"
    src.mkdir()
    ses.write_object(src, HOUR + "feedback-1", [
        confirmation(), bounce_notification(), validation_test(), ses.send("m2", "ann@a.example", T0),
    ], newline=True)
    db = tmp_path / "d.duckdb"
    summary = refresh(db, [LocalSource(src)], quiet=True)
    assert (summary.records_loaded, summary.records_quarantined, staged[-1]["skipped"]) == (2, 0, 2)
    assert summary.records_skipped == 2 and summary.line().endswith(" records_skipped=2")
    assert q(db, "select status, records, quarantined, skipped from _ingest_objects") == [("ok", 2, 0, 2)]


def test_junk_shaped_like_a_control_message_is_still_quarantined(tmp_path, staged):
    """Without the envelope's MessageId and TopicArn (and a SubscribeURL or Token for a confirmation)
    it is not SNS talking: junk that only borrows the Type stays in the quarantine, with its reason."""
    src = tmp_path / "sns"
    bare = {"Type": "SubscriptionConfirmation", "Message": "confirm me"}
    unsigned = {k: v for k, v in confirmation().items() if k not in ("SubscribeURL", "Token")}
    other_text = {**validation_test(), "Message": "Hello from a test script"}
    unknown_type = {**confirmation(), "Type": "SubscriptionTeleported"}
    for i, record in enumerate((bare, unsigned, other_text, unknown_type)):
        write_json(src, HOUR + f"junk-{i}.json", record)
    db = tmp_path / "d.duckdb"
    summary = refresh(db, [LocalSource(src)], quiet=True)
    assert summary.records_quarantined == 4 and staged[-1]["skipped"] == 0
    reasons = sorted(r for (r,) in q(db, "select reason from _quarantine"))
    assert reasons == [
        "SNS Message is not JSON",
        "SNS SubscriptionConfirmation message, not an SES notification",
        "SNS SubscriptionConfirmation message, not an SES notification",
        "SNS SubscriptionTeleported message, not an SES notification",
    ]
    assert {s for (s,) in q(db, "select status from _ingest_objects")} == {"failed"}


def test_an_older_manifest_gains_the_skipped_column(tmp_path):
    src = tmp_path / "sns"
    write_json(src, HOUR + "bounce.json", bounce_notification())
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    with warehouse.writer(db) as con:  # a database from before the column existed
        con.execute("alter table _ingest_objects drop column skipped")
    write_json(src, HOUR + "confirm.json", confirmation())
    summary = refresh(db, [LocalSource(src)], quiet=True)
    assert summary.committed and summary.records_quarantined == 0
    columns = [c for (c,) in q(db, "select column_name from information_schema.columns "
                                   "where table_name = '_ingest_objects' order by ordinal_position")]
    assert columns == ["source", "object_key", "etag", "size_bytes", "load_id", "status", "records",
                       "quarantined", "error", "skipped"]
    assert sorted(q(db, "select object_key, status, skipped from _ingest_objects"), key=str) == [
        (HOUR + "bounce.json", "ok", None), (HOUR + "confirm.json", "ok", 1)]


def test_summary_line_keeps_its_keys_and_ends_with_records_skipped():
    line = RefreshSummary(load_id=3, records_loaded=5, records_skipped=2).line()
    keys = [kv.split("=", 1)[0] for kv in line.split()]
    assert keys == ["load_id", "objects_seen", "objects_new", "objects_failed", "records_loaded",
                    "records_quarantined", "records_duplicate", "facts_new", "directory_loaded",
                    "seconds", "commit_seconds", "committed", "alerts", "records_skipped"]
    assert line.endswith(" records_skipped=2")


def test_pipeline_health_read_counts_skipped_messages_per_load(tmp_path):
    from pipelines.warehouse import reads

    src = tmp_path / "sns"
    write_json(src, HOUR + "bounce.json", bounce_notification())
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    assert reads.read(db, "health_skipped").is_empty()
    write_json(src, HOUR + "confirm.json", confirmation())
    write_json(src, HOUR + "validated.json", validation_test())
    refresh(db, [LocalSource(src)], quiet=True)
    assert reads.read(db, "health_skipped").rows() == [(2, 2, 2)]
    with warehouse.writer(db) as con:  # a database no refresh has upgraded: nothing, no error
        con.execute("alter table _ingest_objects drop column skipped")
    assert reads.read(db, "health_skipped").is_empty()


def test_control_messages_from_an_sqs_queue_are_skipped_and_deleted(aws_env, tmp_path, staged):
    """A queue subscribed to the feedback topic receives the confirmations too, one message each."""
    import boto3

    from pipelines.ingest.sources import SqsSource

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="ses-feedback-control")["QueueUrl"]
    for record in (confirmation(), validation_test(), feedback_topic_subscribed(), bounce_notification()):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    db = tmp_path / "d.duckdb"
    summary = refresh(db, [SqsSource("sqs://ses-feedback-control")], quiet=True)
    assert (summary.objects_new, summary.objects_failed, summary.records_loaded) == (4, 0, 1)
    assert (summary.records_quarantined, staged[-1]["skipped"]) == (0, 3)
    assert q(db, "select status, sum(skipped) from _ingest_objects group by 1") == [("ok", 3)]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0"  # acknowledged like any message
