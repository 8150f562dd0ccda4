"""The careful record splitter: concatenated/NDJSON input, gzip by magic bytes, and bad parts kept."""

import gzip
import json
from pathlib import Path

import pytest

from pipelines.ingest.objects import ObjectTooLarge, decompress, inflate, split_records

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


def _compact(name: str) -> str:
    return json.dumps(json.loads((FIXTURES / name).read_text()), separators=(",", ":"))


def test_concatenated_records_without_delimiter_are_split():
    send, bounce = _compact("event-send.json"), _compact("event-bounce-permanent.json")
    records, rejected = split_records((send + bounce + send).encode())
    assert [json.loads(r.text)["eventType"] for r in records] == ["Send", "Bounce", "Send"]
    assert rejected == []
    # Offsets are byte positions: the second record starts right after the first.
    assert records[1].offset == len(send.encode())


def test_ndjson_with_blank_lines_and_pretty_printed_records():
    pretty = (FIXTURES / "event-delivery.json").read_text()
    data = ("\n" + _compact("event-send.json") + "\n\n" + pretty + "\n").encode()
    records, rejected = split_records(data)
    assert [r.index for r in records] == [0, 1]
    assert rejected == []


def test_truncated_last_record_is_rejected_and_the_rest_kept():
    send = _compact("event-send.json")
    data = (send + "\n" + send[: len(send) // 2]).encode()
    records, rejected = split_records(data)
    assert len(records) == 1
    assert len(rejected) == 1
    assert rejected[0].index == 1
    assert rejected[0].offset == len(send) + 1
    assert "truncated" in rejected[0].reason


def test_garbage_between_records_is_skipped_to_the_next_record():
    send = _compact("event-send.json")
    data = (send + "\n#### not json ####\n" + send).encode()
    records, rejected = split_records(data)
    assert len(records) == 2
    assert len(rejected) == 1 and rejected[0].excerpt.startswith("####")


def test_invalid_utf8_rejects_only_its_record():
    send = _compact("event-send.json")
    bad = send.replace("Message sent from Amazon SES", "caf\\u00e9").encode()
    bad = bad.replace(b"caf\\u00e9", b"caf\xe9")  # latin-1 byte: invalid UTF-8
    records, rejected = split_records(send.encode() + b"\n" + bad + b"\n" + send.encode())
    assert [r.index for r in records] == [0, 2]
    assert [r.reason for r in rejected] == ["invalid UTF-8 in record"]


def test_non_object_json_is_rejected():
    records, rejected = split_records(b'[1,2]\n"text"\n{"eventType":"Send"}')
    assert len(records) == 1
    assert [r.index for r in rejected] == [0, 1]


def test_gzip_is_detected_from_bytes_and_multi_member_streams_are_joined():
    a, b = b'{"a":1}', b'{"b":2}'
    assert decompress(gzip.compress(a) + gzip.compress(b), limit=1000) == a + b
    assert decompress(a, limit=1000) == a


def test_gzip_bomb_stops_at_the_limit():
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(ObjectTooLarge):
        decompress(bomb, limit=1_000_000)


def test_truncated_gzip_is_an_error_not_a_silent_partial():
    data = gzip.compress(b'{"a":1}' * 1000)
    with pytest.raises(ValueError, match="truncated"):
        decompress(data[: len(data) // 2], limit=10_000_000)


def test_inflate_says_when_the_bytes_are_gzip_any_reader_takes_as_they_are():
    a, b = b'{"a":1}', b'{"b":2}'
    assert inflate(gzip.compress(a) + gzip.compress(b), limit=1000) == (a + b, True)
    # NUL padding after a member (some writers pad to a block) is ours to strip, not DuckDB's.
    assert inflate(gzip.compress(a) + b"\0\0" + gzip.compress(b), limit=1000) == (a + b, False)
    assert inflate(gzip.compress(a) + b"\0\0", limit=1000) == (a, False)
    assert inflate(a, limit=1000) == (a, False)
