"""S3 and SQS sources over real HTTP, against the local moto server the `aws_env` fixture starts.

The records are the AWS examples in tests/fixtures/ses/. Every expected number below is counted by
hand from those files (see the comments next to them), not read back from the code under test.
Facts of the event-publishing examples: they all share one messageId and recipient@example.com
(Reject's destination is sender@example.com), so each event type there is exactly one fact.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest

import pipelines.ingest.commit as commit_mod
from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource, ObjectRef, S3Source, SqsSource, open_source

REPO_ROOT = Path(__file__).resolve().parents[2]
SES = REPO_ROOT / "tests" / "fixtures" / "ses"
BUCKET, PREFIX, QUEUE = "ses-exports", "firehose/ses", "ses-feedback"


# --- helpers -------------------------------------------------------------------------------------

def fixture_text(name: str) -> str:
    """The fixture as stored (pretty-printed or one line), without surrounding whitespace."""
    return (SES / name).read_text(encoding="utf-8").strip()


def compact(name: str) -> str:
    return json.dumps(json.loads(fixture_text(name)), separators=(",", ":"))


def joined(*names: str, pretty: bool = False, end: str = "") -> bytes:
    """Records back to back, each followed by `end` ("" = no delimiter, as Firehose concatenates)."""
    return "".join((fixture_text(n) if pretty else compact(n)) + end for n in names).encode()


def count_calls(client, event: str) -> list[int]:
    """A list that grows by one each time `client` emits the botocore `event`."""
    calls: list[int] = []
    client.meta.events.register(event, lambda **kw: calls.append(1))
    return calls


def firehose_key(hour: str, minute: str) -> str:
    """Firehose's layout: <prefix>/YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>."""
    return f"{PREFIX}/2026/11/20/{hour}/stream-1-2026-11-20-{hour}-{minute}-00-{uuid.uuid4()}"


def s3():
    return boto3.client("s3")


def sqs():
    return boto3.client("sqs")


def put(key: str, body: bytes) -> None:
    s3().put_object(Bucket=BUCKET, Key=key, Body=body)


def facts_by_type(db: Path) -> dict[str, int]:
    with warehouse.reader(db) as con:
        rows = con.execute("select event_type, count(*) from fct_recipient_events group by 1").fetchall()
    return dict(rows)


def db_state(db: Path) -> dict[str, int]:
    """Row counts of every table a refresh writes."""
    with warehouse.reader(db) as con:
        return {
            t: con.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("fct_recipient_events", "raw_objects", "_ingest_objects", "_loads", "_quarantine")
        }


def queue_counts(url: str) -> tuple[int, int]:
    """(visible, in flight): in flight means received and neither deleted nor timed out yet."""
    attrs = sqs().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def summary_fields(stdout: str) -> dict[str, str]:
    line = stdout.strip().splitlines()[-1]
    return dict(part.split("=", 1) for part in line.split())


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    # os.environ already carries the fixture's AWS_* settings (monkeypatch edits it in place).
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args], cwd=REPO_ROOT, env=dict(os.environ),
        capture_output=True, text=True, timeout=timeout,
    )


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens once the probe socket is closed


@pytest.fixture
def bucket(aws_env) -> str:
    s3().create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def queue_url(aws_env) -> str:
    return sqs().create_queue(QueueName=QUEUE)["QueueUrl"]


# --- open_source ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("s3://bucket/prefix", S3Source),
        ("sqs://ses-feedback", SqsSource),
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/ses-feedback", SqsSource),
        ("https://vpce-0abc.sqs.eu-west-1.vpce.amazonaws.com/123456789012/q", SqsSource),
        ("http://127.0.0.1:5000/123456789012/q", SqsSource),  # moto's queue URL
        ("http://localhost:4566/000000000000/bounces", SqsSource),
    ],
)
def test_open_source_kinds(spec, kind):
    assert type(open_source(spec)) is kind


def test_open_source_refuses_other_schemes_and_takes_folders(tmp_path):
    with pytest.raises(ValueError, match="unsupported source"):
        open_source("ftp://example.com/ses")
    with pytest.raises(ValueError, match="no queue"):
        open_source("sqs://")
    assert isinstance(open_source(str(tmp_path)), LocalSource)


# --- S3 ------------------------------------------------------------------------------------------

def test_s3_load_paginates_skips_known_objects_and_reloads_a_changed_one(bucket, tmp_path):
    db = tmp_path / "bd.duckdb"
    gz = gzip.compress
    # Firehose objects: gzip without a .gz suffix, records concatenated with no delimiter.
    put(firehose_key("13", "00"), gz(joined("event-send.json", "event-delivery.json",
                                            "event-bounce-permanent.json")))
    # Pretty-printed records back to back: "}{" across lines.
    put(firehose_key("13", "05"), gz(joined("event-complaint.json", "event-open.json", "event-click.json",
                                            pretty=True)))
    changing_key = firehose_key("14", "00")
    put(changing_key, gz(joined("event-deliverydelay.json", "event-reject.json")))
    # Plain NDJSON, not compressed: two events and one identity notification (jane bounced).
    put(firehose_key("14", "10"), joined("event-rendering-failure.json", "event-subscription.json",
                                         "sns-bounce.json", end="\n"))
    # Firehose delivered the same Bounce again (at-least-once): one more record, no new fact.
    put(firehose_key("15", "00"), gz(joined("event-bounce-permanent.json")))
    put(f"{PREFIX}/README.md", b"# not data\n")  # listed (6 keys under the prefix) but ignored
    put("elsewhere/2026/11/20/13/stream-1-x", gz(joined("event-send.json")))  # outside the prefix

    source = S3Source(f"s3://{bucket}/{PREFIX}", page_size=2)
    pages = count_calls(source.client, "after-call.s3.ListObjectsV2")
    summary = refresh(db, [source], quiet=True)

    # 6 keys under the prefix, 2 per page -> 3 ListObjectsV2 calls (the paginator continued twice).
    assert len(pages) == 3
    assert (summary.objects_seen, summary.objects_new, summary.objects_failed) == (5, 5, 0)
    # Records: 3 + 3 + 2 + 3 + 1 = 12; the repeated Bounce is one duplicate -> 11 facts.
    assert (summary.records_loaded, summary.records_quarantined) == (12, 0)
    assert (summary.facts_new, summary.records_duplicate) == (11, 1)
    assert facts_by_type(db) == {
        "Send": 1, "Delivery": 1, "Complaint": 1, "Open": 1, "Click": 1, "DeliveryDelay": 1,
        "Reject": 1, "Rendering Failure": 1, "Subscription": 1,
        "Bounce": 2,  # recipient@example.com (event, once though sent twice) + jane (notification)
    }
    with warehouse.reader(db) as con:
        dates = con.execute("select distinct received_date::varchar from raw_objects").fetchall()
    assert dates == [("2026-11-20",)]  # taken from the Firehose hour folders of the keys
    state = db_state(db)

    # Second run: every key+etag is in the manifest -> nothing read, nothing written.
    again = refresh(db, [S3Source(f"s3://{bucket}/{PREFIX}", page_size=2)], quiet=True)
    assert (again.objects_seen, again.objects_new, again.committed) == (5, 0, False)
    assert db_state(db) == state

    # Overwrite one object (new content -> new etag): only it is read again. Its DeliveryDelay and
    # Reject are already loaded; the Delivery notification to jane (sns-delivery.json) is new.
    put(changing_key, gz(joined("event-deliverydelay.json", "event-reject.json", "sns-delivery.json")))
    third = refresh(db, [S3Source(f"s3://{bucket}/{PREFIX}", page_size=2)], quiet=True)
    assert (third.objects_seen, third.objects_new) == (5, 1)
    assert (third.records_loaded, third.facts_new, third.records_duplicate) == (3, 1, 2)
    by_type = facts_by_type(db)
    assert (by_type["Delivery"], by_type["DeliveryDelay"], by_type["Reject"]) == (2, 1, 1)
    assert sum(by_type.values()) == 12
    with warehouse.reader(db) as con:
        etags = con.execute(
            "select count(distinct etag) from _ingest_objects where object_key = ?", [changing_key]
        ).fetchone()[0]
    assert etags == 2  # both versions are in the manifest


def test_cli_refresh_from_s3_end_to_end(bucket, tmp_path):
    db = tmp_path / "cli.duckdb"
    put(firehose_key("13", "00"), gzip.compress(
        joined("event-send.json", "event-delivery.json", "event-bounce-permanent.json")))
    done = run_cli("refresh", "--source", f"s3://{bucket}/{PREFIX}", "--db", str(db))
    assert done.returncode == 0, done.stderr
    fields = summary_fields(done.stdout)
    # One object, three records, three facts (Send, Delivery, Bounce of one recipient).
    assert fields["objects_new"] == "1"
    assert (fields["records_loaded"], fields["facts_new"], fields["committed"]) == ("3", "3", "True")
    assert facts_by_type(db) == {"Send": 1, "Delivery": 1, "Bounce": 1}


# --- SQS -----------------------------------------------------------------------------------------

# SNS envelopes (3 bounces: nope@nope.com, relayuser@test.com, bounce@simulator.amazonses.com) and
# bare notifications (sns-bounce: jane bounced; sns-complaint: richard; sns-delivery: jane).
FEEDBACK = [
    "sns-envelope-bounce.json", "sns-envelope-bounce-onaccountsuppressionlist.json",
    "sns-envelope-event-bounce.json", "sns-bounce.json", "sns-complaint.json", "sns-delivery.json",
]
FEEDBACK_FACTS = {"Bounce": 4, "Complaint": 1, "Delivery": 1}


def send_all(url: str, names: list[str]) -> None:
    for name in names:
        sqs().send_message(QueueUrl=url, MessageBody=fixture_text(name))


def test_sqs_by_name_and_by_queue_url_loads_and_empties_the_queue(queue_url, tmp_path):
    db = tmp_path / "bd.duckdb"
    # Plus the SNS guide's fan-out example, whose Message is "Hello world!": not an SES record.
    send_all(queue_url, [*FEEDBACK, "sns-sqs-envelope-aws-doc.json"])
    summary = refresh(db, [open_source(f"sqs://{QUEUE}")], quiet=True)
    assert (summary.objects_new, summary.records_loaded, summary.facts_new) == (7, 6, 6)
    assert summary.records_quarantined == 1
    assert facts_by_type(db) == FEEDBACK_FACTS
    # Every message is deleted, the quarantined one too (it is kept in _quarantine), not merely hidden.
    assert queue_counts(queue_url) == (0, 0)

    # The queue URL form (moto's is http://127.0.0.1:<port>/123456789012/ses-feedback).
    assert queue_url.startswith("http://127.0.0.1:")
    send_all(queue_url, ["sns-complaint-simulator.json", "sns-delivery-simulator.json"])
    source = open_source(queue_url)
    assert isinstance(source, SqsSource)
    summary = refresh(db, [source], quiet=True)
    assert (summary.objects_new, summary.facts_new) == (2, 2)  # complaint@ and success@simulator
    assert facts_by_type(db) == {"Bounce": 4, "Complaint": 2, "Delivery": 2}
    assert queue_counts(queue_url) == (0, 0)


def test_failed_commit_keeps_messages_and_the_next_refresh_loads_them_once(queue_url, tmp_path, monkeypatch):
    db = tmp_path / "bd.duckdb"
    send_all(queue_url, ["sns-delivery.json"])
    refresh(db, [SqsSource(f"sqs://{QUEUE}")], quiet=True)  # a prior good state: 1 Delivery
    before = db_state(db)

    send_all(queue_url, ["sns-envelope-bounce.json", "sns-complaint.json", "sns-bounce.json"])

    def broken_commit(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(commit_mod, "_commit", broken_commit)
        with pytest.raises(OSError, match="disk full"):
            refresh(db, [SqsSource(f"sqs://{QUEUE}", visibility_timeout=1)], quiet=True)
    assert db_state(db) == before
    assert queue_counts(queue_url)[0] + queue_counts(queue_url)[1] == 3  # none deleted

    deadline = time.monotonic() + 10  # the 1 s visibility timeout runs out: all 3 visible again
    while queue_counts(queue_url) != (3, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert queue_counts(queue_url) == (3, 0)

    summary = refresh(db, [SqsSource(f"sqs://{QUEUE}")], quiet=True)
    # Bounces of nope@nope.com and jane, complaint of richard; the earlier Delivery stays.
    assert (summary.objects_new, summary.facts_new, summary.records_duplicate) == (3, 3, 0)
    assert facts_by_type(db) == {"Delivery": 1, "Bounce": 2, "Complaint": 1}
    assert queue_counts(queue_url) == (0, 0)


def test_redelivered_message_counts_once(queue_url, tmp_path):
    db = tmp_path / "bd.duckdb"
    # The same notification as two SQS messages (SNS delivers at least once).
    send_all(queue_url, ["sns-envelope-bounce.json", "sns-envelope-bounce.json"])
    first = refresh(db, [SqsSource(f"sqs://{QUEUE}")], quiet=True)
    assert (first.objects_new, first.records_loaded, first.facts_new, first.records_duplicate) == (2, 2, 1, 1)
    # And once more in a later refresh.
    send_all(queue_url, ["sns-envelope-bounce.json"])
    second = refresh(db, [SqsSource(f"sqs://{QUEUE}")], quiet=True)
    assert (second.objects_new, second.facts_new, second.records_duplicate) == (1, 0, 1)
    assert facts_by_type(db) == {"Bounce": 1}
    assert queue_counts(queue_url) == (0, 0)


def test_message_received_twice_in_one_listing_is_one_object(queue_url):
    send_all(queue_url, ["sns-bounce.json", "sns-complaint.json", "sns-delivery.json"])
    # Visibility 0: every receive hands the same 3 messages out again, each time with a new receipt.
    source = SqsSource(f"sqs://{QUEUE}", visibility_timeout=0, max_messages=12)
    refs = list(source.list())
    assert len(refs) == 3 and len({r.key for r in refs}) == 3
    source.acknowledge(refs)
    # SQS documents that only the latest receipt handle reliably deletes; the source keeps that one
    # (moto accepts any handle a message ever had, so this checks deletion, not which handle).
    assert queue_counts(queue_url) == (0, 0)


def test_committed_but_undeleted_message_is_skipped_and_deleted_next_time(queue_url, tmp_path, monkeypatch):
    db = tmp_path / "bd.duckdb"
    send_all(queue_url, ["sns-complaint.json"])
    with monkeypatch.context() as m:  # the process dies between commit and delete
        m.setattr(SqsSource, "acknowledge", lambda self, refs: None)
        refresh(db, [SqsSource(f"sqs://{QUEUE}", visibility_timeout=1)], quiet=True)
    state = db_state(db)
    deadline = time.monotonic() + 10
    while queue_counts(queue_url) != (1, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert queue_counts(queue_url) == (1, 0)  # SQS hands it out again

    summary = refresh(db, [SqsSource(f"sqs://{QUEUE}")], quiet=True)
    # Same MessageId and body MD5 as the manifest row: skipped, nothing written, but deleted now.
    assert (summary.objects_seen, summary.objects_new, summary.committed) == (1, 0, False)
    assert db_state(db) == state
    assert facts_by_type(db) == {"Complaint": 1}
    assert queue_counts(queue_url) == (0, 0)


def test_failed_delete_after_commit_is_a_warning_not_an_error(queue_url, caplog):
    send_all(queue_url, ["sns-bounce.json"])
    msg = sqs().receive_message(QueueUrl=queue_url, VisibilityTimeout=900)["Messages"][0]
    refs = [ObjectRef(f"sqs://{QUEUE}", msg["MessageId"], 0, "", receipt=msg["ReceiptHandle"])]
    source = SqsSource(f"sqs://{QUEUE}")
    sqs().delete_queue(QueueUrl=queue_url)  # the delete call now fails over HTTP
    with caplog.at_level("WARNING", logger="pipelines.sources"):
        source.acknowledge(refs)  # the load is committed by now: it must not turn into a failure
    assert "1 SQS message(s) in sqs://ses-feedback not deleted" in caplog.text


# --- lost source ---------------------------------------------------------------------------------

def test_unreachable_endpoint_fails_fast_and_changes_nothing(bucket, queue_url, tmp_path, monkeypatch):
    db = tmp_path / "bd.duckdb"
    put(firehose_key("13", "00"), gzip.compress(joined("event-send.json")))
    refresh(db, [S3Source(f"s3://{bucket}/{PREFIX}")], quiet=True)
    before = db_state(db)
    assert before["fct_recipient_events"] == 1

    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the standard setting, honoured by the sources
    for spec in (f"s3://{bucket}/{PREFIX}", f"sqs://{QUEUE}"):
        source = open_source(spec)
        attempts = count_calls(source.client, "before-send")
        started = time.monotonic()
        with pytest.raises(Exception, match="Could not connect to the endpoint URL"):
            refresh(db, [source], quiet=True)
        assert (len(attempts), time.monotonic() - started < 5) == (1, True), spec
        assert db_state(db) == before

    done = run_cli("refresh", "--source", f"s3://{bucket}/{PREFIX}", "--db", str(db))
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "EndpointConnectionError" in lines[0]
    assert db_state(db) == before
