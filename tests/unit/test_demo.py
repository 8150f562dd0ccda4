"""The demo generator: deterministic, shaped like real Firehose exports, and its situations hold
once loaded (measured from the facts the loader builds, not from the generator's own counts)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import build as demo

END = datetime(2026, 11, 24, 15, tzinfo=UTC)
SMALL = {"sends": 3000, "portals": 12, "days": 20, "seed": 7, "end": END}
OBJECT_KEY = re.compile(
    r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/bouncedesk-demo-1-(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.gz)?$"
)
HARD = "event_type = 'Bounce' and bounce_type = 'Permanent' and bounce_subtype <> 'OnAccountSuppressionList'"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    out, db = root / "out", root / "demo.duckdb"
    summary = demo.build_demo(out, db, quiet=True, **SMALL)
    return out, db, summary


@pytest.fixture(scope="module")
def con(loaded):
    _, db, _ = loaded
    connection = duckdb.connect(str(db), read_only=True)
    connection.execute("set TimeZone = 'UTC'")
    yield connection
    connection.close()


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


def test_objects_follow_the_firehose_layout(loaded):
    out, _, _ = loaded
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


def test_each_event_sits_in_the_hour_of_its_own_timestamp(loaded):
    out, _, _ = loaded
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


def test_directory_csvs_have_the_export_headers(loaded):
    out, _, _ = loaded
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


def _rate(con, portal: str) -> float:
    sent, hard = con.execute(
        f"""
        with recent as (
            select * from fct_recipient_events
            where sent_at >= (select max(event_at) from fct_recipient_events) - interval 30 day
        )
        select
            count(distinct case when event_type = 'Send' then (message_id, recipient) end),
            count(distinct case when {HARD} then (message_id, recipient) end)
        from recent where portal_id = ?
        """,
        [portal],
    ).fetchone()
    assert sent > 100
    return hard / sent


def test_over_cutoff_and_approaching_portals(con):
    assert _rate(con, demo.OVER_CUTOFF_PORTAL) >= 0.10
    assert 0.05 <= _rate(con, demo.APPROACHING_PORTAL) < 0.10
    healthy = [p for (p,) in con.execute("select portal_id from dir_portals").fetchall()
               if p not in (demo.OVER_CUTOFF_PORTAL, demo.APPROACHING_PORTAL, demo.NEW_SUBPORTAL)]
    assert sum(_rate(con, p) < 0.05 for p in healthy if _sent(con, p) > 100) >= 6


def _sent(con, portal: str) -> int:
    return con.execute(
        "select count(*) from fct_recipient_events where event_type = 'Send' and portal_id = ?", [portal]
    ).fetchone()[0]


def test_the_bad_batch_is_the_cause(con):
    batch, hard = con.execute(
        f"select upload_batch_id, count(*) from fct_recipient_events where {HARD} and portal_id = ? "
        "group by 1 order by 2 desc limit 1",
        [demo.OVER_CUTOFF_PORTAL],
    ).fetchone()
    kind = con.execute("select filename from dir_batches where batch_id = ?", [batch]).fetchone()[0]
    assert kind.startswith("contacts_export_FULL_")
    assert hard > 30


def test_typo_domains_placeholders_and_corporate_rejections(con):
    typos = con.execute(
        f"select count(distinct recipient) from fct_recipient_events where {HARD} "
        "and recipient_domain in (select unnest(?))",
        [sorted(demo.TYPO_DOMAINS)],
    ).fetchone()[0]
    assert typos >= 2
    placeholders = {r for (r,) in con.execute(
        f"select distinct recipient from fct_recipient_events where {HARD}"
    ).fetchall()} & set(demo.PLACEHOLDER_ADDRESSES)
    assert {"test@example.com", "user1@test.com"} <= placeholders
    corporate, portals = con.execute(
        "select count(*), count(distinct portal_id) from fct_recipient_events where event_type = 'Bounce' "
        "and recipient_domain = ? and (bounce_subtype = 'ContentRejected' or status_code = '5.7.1')",
        [demo.CORPORATE_DOMAIN],
    ).fetchone()
    assert corporate >= 5
    assert portals >= 2


def test_soft_bounces_complaints_stale_and_unattributed(con):
    counts = dict(con.execute(
        "select coalesce(bounce_subtype, event_type), count(*) from fct_recipient_events "
        "where event_type in ('Bounce', 'Complaint', 'DeliveryDelay', 'Open', 'Click', 'Delivery') group by 1"
    ).fetchall())
    # (complaints are too rare to be sure of at this size: ~1.5 expected)
    for kind in ("MailboxFull", "OnAccountSuppressionList", "Open", "Click", "DeliveryDelay"):
        assert counts.get(kind, 0) > 0, kind
    deliveries = counts["Delivery"] / _total_sent(con)
    assert 0.90 < deliveries < 0.99
    stale = con.execute(
        f"""
        with hard as (select * from fct_recipient_events where {HARD})
        select count(*) from hard
        join dir_users as u on u.email = hard.recipient and u.portal_id = hard.portal_id
        where u.created_at < ? - interval 2 year
        """,
        [END],
    ).fetchone()[0]
    assert stale > 0
    unattributed = con.execute(
        "select count(*) from fct_recipient_events where event_type = 'Send' and portal_id is null"
    ).fetchone()[0]
    assert unattributed >= 5


def _total_sent(con) -> int:
    return con.execute("select count(*) from fct_recipient_events where event_type = 'Send'").fetchone()[0]


def test_feed_defects_are_absorbed(loaded, con):
    _, _, summary = loaded
    assert summary.committed
    assert summary.records_duplicate > 0
    assert summary.records_quarantined == 1
    assert con.execute("select count(distinct object_key) from _quarantine").fetchone()[0] == 1
    reason = con.execute("select reason from _quarantine").fetchone()[0]
    assert "truncated" in reason
    # bounces that only came as SNS notifications (no tags) are attributed through their Send
    notified, lost = con.execute(
        """
        select count(*), count(*) filter (where n.portal_id is null and exists (
            select 1 from fct_recipient_events as s
            where s.message_id = n.message_id and s.event_type = 'Send' and s.portal_id is not null))
        from fct_recipient_events as n where n.source_kind = 'ses_notification'
        """
    ).fetchone()
    assert notified > 0
    assert lost == 0
    assert _total_sent(con) >= SMALL["sends"]


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
