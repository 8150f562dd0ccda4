"""The demo generator: deterministic and shaped like real Firehose exports and LMS directory CSVs.
Only the files it writes (no database); tests/pipeline/test_demo_load.py checks its situations once
loaded."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.demo import build as demo

END = datetime(2026, 11, 24, 15, tzinfo=UTC)
SMALL = {"sends": 3000, "portals": 12, "days": 20, "seed": 7, "end": END}
OBJECT_KEY = re.compile(
    r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/bouncedesk-demo-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.gz)?$"
)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The demo's exports as `python -m pipelines demo` writes them, not loaded."""
    root = tmp_path_factory.mktemp("demo")
    assert demo.build_demo(root / "out", root / "never.duckdb", load=False, quiet=True, **SMALL) is None
    assert not (root / "never.duckdb").exists()
    return root / "out"


def _objects(ses: Path) -> list[Path]:
    return sorted(p for p in ses.rglob("*") if p.is_file() and "sns" not in p.relative_to(ses).parts)


def _digest(folder: Path) -> list[tuple[str, str]]:
    return [(p.relative_to(folder).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()]


def test_same_seed_same_bytes(tmp_path):
    a = demo.write_ses_exports(tmp_path / "a", **SMALL)
    b = demo.write_ses_exports(tmp_path / "b", **SMALL)
    demo.write_directory(tmp_path / "a-dir", **SMALL)
    demo.write_directory(tmp_path / "b-dir", **SMALL)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a-dir") == _digest(tmp_path / "b-dir")
    other = demo.write_ses_exports(tmp_path / "c", **{**SMALL, "seed": 8})
    assert _digest(tmp_path / "c") != _digest(tmp_path / "a")
    assert a["sends"] == other["sends"] == SMALL["sends"]


def test_objects_follow_the_firehose_layout(written):
    out = written
    objects = _objects(out / "ses")
    assert len(objects) > 100
    kinds = {"concatenated": 0, "ndjson": 0, "no_extension": 0}
    for path in objects:
        key = path.relative_to(out / "ses").as_posix()
        m = OBJECT_KEY.match(key)
        assert m, key
        assert m.groups()[:4] == m.groups()[4:8], f"{key}: name time is not in its hour folder"
        data = path.read_bytes()
        assert data[:2] == b"\x1f\x8b", f"{key} is not gzip"
        text = gzip.decompress(data).decode("utf-8")
        if "}{" in text and "\n" not in text:
            kinds["concatenated"] += 1
        if "}\n{" in text:
            kinds["ndjson"] += 1
        if not key.endswith(".gz"):
            kinds["no_extension"] += 1
    assert kinds["concatenated"] > kinds["ndjson"] > 0
    assert kinds["no_extension"] > 0


def test_each_event_sits_in_the_hour_of_its_own_timestamp(written):
    out = written
    decoder = json.JSONDecoder()
    later_than_send = 0
    for path in _objects(out / "ses")[::7]:
        folder = datetime.strptime("/".join(path.relative_to(out / "ses").parts[:4]), "%Y/%m/%d/%H")
        folder = folder.replace(tzinfo=UTC)
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        pos = 0
        while pos < len(text):
            try:
                rec, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                break  # the one truncated object
            pos = end + (1 if text[end:end + 1] == "\n" else 0)
            kind = rec["eventType"]
            sent = datetime.fromisoformat(rec["mail"]["timestamp"])
            body = rec.get(kind[0].lower() + kind[1:], {})
            at = datetime.fromisoformat(body["timestamp"]) if "timestamp" in body else sent
            # a record redelivered by Firehose lands in the next hour's object
            assert folder - timedelta(hours=1) <= at.replace(minute=0, second=0, microsecond=0) <= folder
            assert at >= sent
            later_than_send += at.hour != sent.hour
            assert isinstance(rec["mail"]["tags"]["ses:configuration-set"], list)
    assert later_than_send > 0


def test_directory_csvs_have_the_export_headers(written):
    out = written
    expected = {
        "portals.csv": ["portal_id", "name", "parent_portal_id", "email_enabled"],
        "users.csv": ["user_id", "portal_id", "name", "email", "status", "upload_batch_id", "created_at"],
        "batches.csv": ["batch_id", "portal_id", "uploaded_at", "filename", "rows"],
    }
    for name, header in expected.items():
        with open(out / "directory" / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == header
        assert len(rows) > 1
    with open(out / "directory" / "portals.csv", encoding="utf-8", newline="") as fh:
        portals = {r["portal_id"]: r for r in csv.DictReader(fh)}
    assert len(portals) == SMALL["portals"]
    assert portals[demo.OVER_CUTOFF_PORTAL]["email_enabled"] == "false"
    assert portals[demo.APPROACHING_PORTAL]["parent_portal_id"] == demo.PARENT_PORTAL
    assert portals[demo.NEW_SUBPORTAL]["parent_portal_id"] == demo.APPROACHING_PORTAL


def test_refuses_to_wipe_a_folder_it_did_not_write(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(ValueError, match="refusing"):
        demo.build_demo(precious, tmp_path / "x.duckdb", load=False, quiet=True, **SMALL)
    assert (precious / "thesis.txt").exists()


def test_rewrites_its_own_folder(tmp_path):
    out = tmp_path / "out"
    assert demo.build_demo(out, tmp_path / "x.duckdb", load=False, quiet=True, **SMALL) is None
    (out / "ses" / "stale.json").write_text("{}")
    demo.build_demo(out, tmp_path / "x.duckdb", load=False, quiet=True, **SMALL)
    assert (out / demo.MARKER).is_file()
    assert not (out / "ses" / "stale.json").exists()
    info = json.loads((out / "demo.json").read_text())
    assert info["situations"]["over_cutoff"] == demo.OVER_CUTOFF_PORTAL
    assert not (tmp_path / "x.duckdb").exists()


def test_too_few_portals_is_a_usage_error(tmp_path):
    with pytest.raises(ValueError, match="portals"):
        demo.build_demo(tmp_path / "o", tmp_path / "x.duckdb", load=False, quiet=True,
                        **{**SMALL, "portals": 5})


def test_any_size_works_for_a_benchmark_and_defects_can_be_left_out(tmp_path):
    # a benchmark's "one more hour": few sends, one day
    counts = demo.write_ses_exports(tmp_path / "hour", sends=50, portals=50, days=1, seed=99,
                                    end=END + timedelta(hours=1), defects=False)
    assert counts["sends"] == 50
    assert counts["duplicates"] == 0 and counts["truncated_object"] is None
    decoder = json.JSONDecoder()
    for path in _objects(tmp_path / "hour"):
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
        pos = 0
        while pos < len(text):  # every record parses: nothing truncated
            _, pos = decoder.raw_decode(text, pos)
            pos += text[pos:pos + 1] == "\n"
    with pytest.raises(ValueError, match="days"):
        demo.build_demo(tmp_path / "o", tmp_path / "x.duckdb", sends=50, portals=50, days=1, load=False)
