"""Poisoned input: generated junk between good SES records never stops a refresh, is quarantined
with a reason, and never takes a good neighbour down with it."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import warehouse
from pipelines.bounces.dsn import parse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from tests import sesdata as ses

T0 = "2026-11-20T10:00:00.000Z"

junk = st.one_of(
    # Binary junk with something in it besides whitespace and NULs (those are padding, skipped).
    st.binary(min_size=1, max_size=200).filter(
        lambda b: b"{" not in b and b"}" not in b and b.strip(b" \t\r\n\x00")),
    st.text(max_size=50).map(lambda t: '{"eventType": "Send", "mail": ' + json.dumps(t)),  # truncated
    st.sampled_from([
        '{"eventType": 5, "mail": "not an object"}',
        '{"eventType": "Teleport", "mail": {"messageId": "x", "timestamp": "2026-11-20T10:00:00Z",'
        ' "destination": ["a@b.example"]}}',
        '{"notificationType": "Bounce", "mail": {"messageId": null}}',
        '[1, 2, 3]',
        '"a bare string"',
        '{"Type": "Notification", "Message": "not json at all"}',
        '{"Type": "SubscriptionConfirmation", "Message": "confirm me"}',
        '{"eventType": "Send", "x": ' + "[" * 200 + "]" * 200 + "}",  # deep, and no mail object
    ]).map(str),
    st.just('{"eventType":"Send","mail":{"messageId":"big","timestamp":"x","destination":["' + "a" * 100_000
            + '@b.example"]}}'),
    st.binary(min_size=1, max_size=50).map(lambda b: b"\xff\xfe" + b),  # invalid UTF-8
)


def _bytes(part) -> bytes:
    return part if isinstance(part, bytes) else part.encode("utf-8")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.lists(st.one_of(st.just("good"), junk), min_size=1, max_size=8),
    newline=st.booleans(),
    gz=st.booleans(),
)
def test_junk_is_quarantined_and_good_records_load(layout, newline, gz):
    work = Path(tempfile.mkdtemp())
    try:
        src = work / "ses"
        src.mkdir()
        parts, good_ids = [], []
        for i, item in enumerate(layout):
            if item == "good":
                good_ids.append(f"good-{i}")
                parts.append(json.dumps(ses.send(f"good-{i}", f"u{i}@a.example", T0)).encode())
            else:
                parts.append(_bytes(item))
        data = (b"\n" if newline else b"").join(parts)
        (src / "object").write_bytes(gzip.compress(data) if gz else data)
        db = work / "d.duckdb"
        summary = refresh(db, [LocalSource(src)], quiet=True)
        with warehouse.reader(db) as con:
            loaded = {m for (m,) in con.execute(
                "select message_id from fct_recipient_events where message_id like 'good-%'").fetchall()}
            reasons = [r for (r,) in con.execute("select reason from _quarantine").fetchall()]
        assert loaded == set(good_ids), "a good record next to junk was lost"
        if len(good_ids) < len(layout):
            assert reasons and all(reasons), "junk must leave a quarantine row with a reason"
        assert summary.committed
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_the_bounce_mail_parser_never_raises(data):
    result = parse(data)
    assert result.recipients or result.problem


def test_a_gzip_bomb_is_refused_not_inflated(tmp_path):
    src = tmp_path / "ses"
    src.mkdir()
    (src / "bomb").write_bytes(gzip.compress(b" " * 50_000_000))
    (src / "fine").write_bytes(json.dumps(ses.send("ok", "a@b.example", T0)).encode())
    from pipelines.ingest.refresh import refresh as run

    db = tmp_path / "d.duckdb"
    run(db, [LocalSource(src)], max_object_bytes=10_000_000, quiet=True)
    with warehouse.reader(db) as con:
        assert con.execute("select reason from _quarantine").fetchall()[0][0].startswith("unreadable object")
        assert con.execute("select message_id from fct_recipient_events").fetchall() == [("ok",)]


def test_a_header_word_glued_to_a_record_is_junk_before_the_record_not_a_mail(tmp_path):
    # Found by the fuzz test above on a clean clone: the object read as a mail and its record was lost.
    src = tmp_path / "ses"
    src.mkdir()
    good = json.dumps(ses.send("good-1", "u1@a.example", T0)).encode()
    (src / "object").write_bytes(b"return-path:" + good)
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    with warehouse.reader(db) as con:
        assert con.execute("select message_id from fct_recipient_events").fetchall() == [("good-1",)]
        assert con.execute("select count(*) from _quarantine").fetchall() == [(1,)]
