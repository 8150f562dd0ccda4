"""Erasure: after `forget ADDRESS`, no query result anywhere in the database mentions it."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

from pipelines import warehouse
from pipelines.ingest.refresh import rebuild, refresh
from pipelines.ingest.sources import LocalSource
from pipelines.warehouse import raw_store
from tests import sesdata as ses
from tests.pipeline.test_bounce_logs import dsn_mail
from tests.sql.test_aggregate_tables import assert_equal

REPO = Path(__file__).resolve().parents[2]
T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"
GONE = "Gone.Person@Example.ORG"


def _inflated(value: bytes) -> str:
    return (gzip.decompress(value) if value[:2] == b"\x1f\x8b" else value).decode("utf-8", "replace")


def every_text(db: Path) -> list[str]:
    """Every text and blob value in every table, and every file the raw store keeps beside the
    database, inflated when gzip."""
    out = [_inflated(path.read_bytes()) for path in raw_store.folder(db).glob("*/*")]
    with warehouse.reader(db) as con:
        tables = con.execute("select table_name from information_schema.tables where table_type = "
                             "'BASE TABLE' and table_catalog = current_database()").fetchall()
        for (table,) in tables:
            for row in con.execute(f"select * from {table}").fetchall():
                for value in row:
                    if isinstance(value, bytes):
                        out.append(_inflated(value))
                    elif value is not None:
                        out.append(str(value))
    return out


def test_forget_leaves_no_trace_and_keeps_everyone_else(tmp_path):
    src, logs, dirs, db = tmp_path / "ses", tmp_path / "logs", tmp_path / "dir", tmp_path / "d.duckdb"
    logs.mkdir()
    dirs.mkdir()
    ses.write_object(src, "a", [
        ses.send("m1", GONE, T0), ses.bounce("m1", GONE, T0, T1),
        ses.send("m2", "stays@example.org", T0),
    ])
    (src / "broken").write_bytes(b'{"eventType":"Send","mail":{"destination":["gone.person@example.org"')
    (logs / "1.eml").write_bytes(dsn_mail(GONE.lower(), "m1"))
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\np1,One,\n")
    (dirs / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
                                    f"u1,p1,Gone Person,{GONE},active,b1,2026-01-01T00:00:00Z\n"
                                    "u2,p1,Stays,stays@example.org,active,b1,2026-01-01T00:00:00Z\n")
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    refresh(db, [LocalSource(src), LocalSource(logs)], directory=dirs, quiet=True)
    assert any("gone.person@example.org" in t.lower() for t in every_text(db))
    # An object a failed run kept before its commit never recorded: no row points at it.
    orphan = b'{"mail":{"destination":["gone.person@example.org"]}}'
    raw_store.put(raw_store.folder(db), gzip.compress(orphan))

    out = subprocess.run([sys.executable, "-m", "pipelines", "forget", GONE, "--db", str(db)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not [t for t in every_text(db) if "gone.person@example.org" in t.lower()]
    with warehouse.reader(db) as con:
        assert con.execute("select count(*) from fct_recipient_events where recipient = 'stays@example.org'"
                           ).fetchall() == [(1,)]
        audit = con.execute("select rows_deleted, raw_objects_rewritten from _erasures").fetchall()
    # Rows: Send + Bounce (SES; the log's copy of the same bounce was never a second fact) in the facts,
    # 1 outcome row, 1 address-facts row, 1 directory row, and the search's 21 trigram rows (the 23
    # characters of gone.person@example.org have 21 trigrams, no two alike) = 26; objects: the SES object,
    # the broken one and the bounce mail.
    assert audit == [(26, 3)]
    # The aggregates hold no trace either: each still equals its model over what is left (the day's
    # counts: 1 send, no hard bounce, where they were 2 and 1).
    assert_equal(db)
    with warehouse.reader(db) as con:
        assert con.execute("select sent, hard_bounced from mart_portal_days").fetchall() == [(1, 0)]
        # example.org in p1: one address (stays@) and its one send left, where there were two of each.
        assert con.execute("select recipient_domain, addresses, sends from fct_portal_domains"
                           ).fetchall() == [("example.org", 1, 1)]
        # The last refresh's judgement counted the erased mail: it is gone, so statuses are judged again.
        assert con.execute("select count(*) from _status_judged").fetchall() == [(0,)]
    # The rewritten raw objects still rebuild everyone else's facts.
    rebuild(db, quiet=True)
    with warehouse.reader(db) as con:
        assert con.execute("select message_id, recipient from fct_recipient_events").fetchall() == [
            ("m2", "stays@example.org")]


def test_forget_refuses_what_is_not_an_address(tmp_path):
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(REPO / "tests" / "fixtures" / "ses")], quiet=True)
    out = subprocess.run([sys.executable, "-m", "pipelines", "forget", "nobody", "--db", str(db)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 2 and "not an email address" in out.stderr
