"""Refresh semantics on a local folder: incremental, idempotent, deduplicated, quarantining, attributing."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest import commit as commit_mod
from pipelines.ingest import refresh as refresh_mod
from pipelines.ingest import stage
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.warehouse import catalog, connect
from tests import sesdata as ses

HOUR = "2026/11/20/10/"
T0 = "2026-11-20T10:00:00.000Z"
T1 = "2026-11-20T10:00:05.000Z"


def q(db: Path, sql: str, params=None) -> list[tuple]:
    with warehouse.reader(db) as con:
        return con.execute(sql, params).fetchall()


def counts(db: Path) -> dict[str, int]:
    return dict(q(db, "select event_type, count(*) from fct_recipient_events group by 1"))


def run(db: Path, src: Path, **kw):
    return refresh(db, [LocalSource(src)], quiet=True, **kw)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "ses"
    folder.mkdir()
    # 3 messages: m1 delivered, m2 hard-bounced, m3 to two recipients, both delivered.
    ses.write_object(folder, HOUR + "s-1-a", [
        ses.send("m1", "ann@a.example", T0),
        ses.send("m2", "bob@b.example", T0),
        ses.send("m3", ["cy@c.example", "Dee <DEE@C.example>"], T0),
    ])
    ses.write_object(folder, HOUR + "s-1-b", [
        ses.delivery("m1", "ann@a.example", T0, T1),
        ses.bounce("m2", "bob@b.example", T0, T1),
        ses.delivery("m3", "cy@c.example", T0, T1),
        ses.delivery("m3", "dee@c.example", T0, T1),
    ], newline=True, gz=False)
    return folder


def test_first_load_flattens_records_to_recipient_facts(tmp_path, src):
    db = tmp_path / "d.duckdb"
    summary = run(db, src)
    # Hand count: 3 Send records name 4 recipients; 4 other records name 1 each.
    assert counts(db) == {"Send": 4, "Delivery": 3, "Bounce": 1}
    assert summary.objects_new == 2 and summary.records_loaded == 7 and summary.facts_new == 8
    # The display name is dropped and the address lower-cased.
    assert ("dee@c.example", "c.example") in q(
        db, "select recipient, recipient_domain from fct_recipient_events where event_type = 'Send'")
    row = q(db, "select bounce_type, status_code, diagnostic, portal_id, attribution, sent_date "
                "from fct_recipient_events where event_type = 'Bounce'")[0]
    assert row[:5] == ("Permanent", "5.1.1", "smtp; 550 5.1.1 user unknown", "p1", "tag")
    assert str(row[5]) == "2026-11-20"


def test_second_run_reads_nothing_and_changes_nothing(tmp_path, src, monkeypatch):
    db = tmp_path / "d.duckdb"
    run(db, src)
    before = q(db, "select * exclude (load_id) from fct_recipient_events order by event_key")
    reads = []
    monkeypatch.setattr(LocalSource, "read", lambda self, ref: reads.append(ref.key) or b"")
    summary = run(db, src)
    assert summary.objects_new == 0 and not summary.committed
    assert reads == []
    assert q(db, "select * exclude (load_id) from fct_recipient_events order by event_key") == before
    assert q(db, "select count(*) from _loads") == [(1,)]


def test_only_new_objects_are_read(tmp_path, src, monkeypatch):
    db = tmp_path / "d.duckdb"
    run(db, src)
    ses.write_object(src, "2026/11/20/11/s-1-c", [ses.send("m4", "eve@a.example", "2026-11-20T11:00:00Z")])
    reads = []
    original = LocalSource.read
    monkeypatch.setattr(LocalSource, "read", lambda self, ref: reads.append(ref.key) or original(self, ref))
    summary = run(db, src)
    assert reads == ["2026/11/20/11/s-1-c"]
    assert summary.objects_seen == 3 and summary.objects_new == 1 and summary.facts_new == 1


def test_same_event_in_two_objects_counts_once(tmp_path, src):
    db = tmp_path / "d.duckdb"
    # Firehose redelivers: the bounce of m2 again in a new object, and the Send of m1 twice in one.
    ses.write_object(src, "2026/11/20/12/s-1-retry", [
        ses.bounce("m2", "bob@b.example", T0, T1),
        ses.send("m1", "ann@a.example", T0),
        ses.send("m1", "ann@a.example", T0),
    ])
    summary = run(db, src)
    assert counts(db) == {"Send": 4, "Delivery": 3, "Bounce": 1}
    assert summary.records_duplicate == 3


def test_duplicate_arriving_in_a_later_run_counts_once(tmp_path, src):
    db = tmp_path / "d.duckdb"
    run(db, src)
    ses.write_object(src, "2026/11/21/09/s-1-late", [ses.bounce("m2", "bob@b.example", T0, T1)])
    summary = run(db, src)
    assert summary.objects_new == 1 and summary.facts_new == 0 and summary.records_duplicate == 1
    assert counts(db)["Bounce"] == 1
    # Both objects are kept as received, so lineage shows both deliveries of the bounce.
    assert q(db, "select count(*) from raw_objects where object_key in ('2026/11/21/09/s-1-late', "
                 "'2026/11/20/10/s-1-b')") == [(2,)]


def test_changed_object_is_read_again_and_its_known_events_count_once(tmp_path, src):
    db = tmp_path / "d.duckdb"
    run(db, src)
    ses.write_object(src, HOUR + "s-1-a", [
        ses.send("m1", "ann@a.example", T0),
        ses.send("m5", "fay@a.example", T0),
    ])
    summary = run(db, src)
    assert summary.objects_new == 1 and summary.facts_new == 1
    assert counts(db)["Send"] == 5


def test_bad_input_is_quarantined_and_good_neighbours_load(tmp_path):
    folder = tmp_path / "ses"
    good = json.dumps(ses.send("g1", "ok@a.example", T0))
    unknown_type = json.dumps({**ses.send("g2", "x@a.example", T0), "eventType": "Teleport"})
    no_recipients = json.dumps(ses.send("g3", [], T0))
    not_ses = json.dumps({"hello": "world"})
    bad_time = json.dumps(ses.send("g4", "y@a.example", "yesterday-ish"))
    folder.mkdir()
    (folder / "mixed").write_bytes(
        gzip.compress((good + unknown_type + "{broken json\n" + no_recipients + not_ses + bad_time).encode())
    )
    (folder / "latin1").write_bytes(
        (good.replace("g1", "g5") + "\n" + good.replace("g1", "g6").replace("Welcome", "caf\xe9")).encode(
            "latin-1"
        )
    )
    (folder / "truncated.gz").write_bytes(gzip.compress(good.encode())[:-10])
    db = tmp_path / "d.duckdb"
    summary = run(db, folder)
    reasons = sorted(r for (r,) in q(db, "select reason from _quarantine"))
    # 6 bad records, plus the truncated gzip object refused whole.
    assert len(reasons) == 7 == summary.records_quarantined
    assert any(r.startswith("malformed JSON") for r in reasons)
    assert "invalid UTF-8 in record" in reasons
    assert "unknown event type: Teleport" in reasons
    assert "record names no recipients" in reasons
    assert any(r.startswith("unknown record shape") for r in reasons)
    assert any(r.startswith("mail.timestamp missing or unreadable") for r in reasons)
    assert q(db, "select reason from _quarantine where object_key = 'truncated.gz'") == [
        ("unreadable object: truncated gzip stream",)]
    assert q(db, "select status from _ingest_objects where object_key = 'truncated.gz'") == [("failed",)]
    # g1 and g5 are the good records around the bad ones.
    assert sorted(r for (r,) in q(db, "select message_id from fct_recipient_events")) == ["g1", "g5"]
    assert summary.objects_failed == 1


def test_recipient_entries_without_an_address_are_not_events(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    # r1: one recipient object with an address and one without; r2: bare strings where SES writes
    # recipient objects, so it names no recipient at all.
    r1 = ses.bounce("r1", "ann@a.example", T0, T1)
    r1["bounce"]["bouncedRecipients"].append({"action": "failed", "status": "5.1.1"})
    r2 = ses.bounce("r2", "bob@a.example", T0, T1)
    r2["bounce"]["bouncedRecipients"] = ["bob@a.example"]
    ses.write_object(folder, "o", [r1, r2])
    db = tmp_path / "d.duckdb"
    run(db, folder)
    assert q(db, "select message_id, recipient from fct_recipient_events") == [("r1", "ann@a.example")]
    assert q(db, "select reason from _quarantine") == [("record names no recipients",)]


def test_lenient_timestamps(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    ses.write_object(folder, "o", [ses.send("t1", "a@a.example", "2018-10-08T14:05:45 +0000")])
    db = tmp_path / "d.duckdb"
    run(db, folder)
    assert [str(r[0]) for r in q(db, "select sent_at from fct_recipient_events")] == [
        "2018-10-08 14:05:45+00:00"
    ]


def test_attribution_order_tag_header_send_directory(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    hdr = [{"name": "X-Portal-Id", "value": "p-hdr"}, {"name": "X-Upload-Batch-Id", "value": "b-hdr"}]
    ses.write_object(folder, "a", [
        ses.send("tagged", "t@a.example", T0, portal="p-tag"),
        ses.send("headed", "h@a.example", T0, portal=None, headers=hdr),
        ses.send("viasend", "s@a.example", T0, portal="p-send", batch="b7"),
        # The identity notification of that message's bounce carries no tags at all.
        ses.sns_envelope(ses.notification(ses.bounce("viasend", "s@a.example", T0, T1))),
        ses.send("viadir", "d@a.example", T0, portal=None),
        ses.send("lost", "nobody@a.example", T0, portal=None),
    ])
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\np-dir,Dir portal,\n")
    (dirs / "users.csv").write_text(
        "user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
        "u1,p-dir,Dee,D@a.example,active,b9,2026-01-01T00:00:00Z\n"
    )
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(folder)], directory=dirs, quiet=True)
    got = dict(
        ((m, e), (p, b, a)) for m, e, p, b, a in q(
            db, "select message_id, event_type, portal_id, upload_batch_id, attribution "
                "from fct_recipient_events")
    )
    assert got[("tagged", "Send")] == ("p-tag", None, "tag")
    assert got[("headed", "Send")] == ("p-hdr", "b-hdr", "header")
    assert got[("viasend", "Bounce")] == ("p-send", "b7", "send")
    assert got[("viadir", "Send")] == ("p-dir", "b9", "directory")
    assert got[("lost", "Send")] == (None, None, None)  # kept, unattributed


def test_send_arriving_after_its_bounce_attributes_it(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    ses.write_object(folder, "1", [ses.notification(ses.bounce("late", "l@a.example", T0, T1))])
    db = tmp_path / "d.duckdb"
    run(db, folder)
    assert q(db, "select portal_id from fct_recipient_events") == [(None,)]
    ses.write_object(folder, "2", [ses.send("late", "l@a.example", T0, portal="p9")])
    run(db, folder)
    assert sorted(q(db, "select event_type, portal_id, attribution from fct_recipient_events")) == [
        ("Bounce", "p9", "send"), ("Send", "p9", "tag")]


def test_directory_reload_replaces_the_snapshot(tmp_path, src):
    db = tmp_path / "d.duckdb"
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id,email_enabled\np1,One,,true\n"
                                      "p2,Two,p1,false\n")
    (dirs / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n"
                                      "b1,p1,2026-11-01T00:00:00Z,a.csv,10\n")
    refresh(db, [LocalSource(src)], directory=dirs, quiet=True)
    assert q(db, "select portal_id, parent_portal_id, email_enabled from dir_portals order by 1") == [
        ("p1", None, True), ("p2", "p1", False)]
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\np3,Three,\n")
    summary = refresh(db, [LocalSource(src)], directory=dirs, quiet=True)
    assert summary.directory_loaded
    assert q(db, "select portal_id, email_enabled from dir_portals") == [("p3", True)]
    assert q(db, "select count(*) from _directory_loads") == [(2,)]


def test_bad_directory_fails_with_a_clear_message_and_changes_nothing(tmp_path, src):
    db = tmp_path / "d.duckdb"
    run(db, src)
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("id,name\np1,One\n")
    (dirs / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    ses.write_object(src, "2026/11/21/00/new", [ses.send("m9", "z@a.example", T0)])
    with pytest.raises(ValueError, match=r"portals.csv: missing column\(s\) portal_id, parent_portal_id"):
        refresh(db, [LocalSource(src)], directory=dirs, quiet=True)
    assert counts(db)["Send"] == 4  # the new object was not half-loaded either


def test_failed_commit_leaves_the_last_good_state(tmp_path, src, monkeypatch):
    db = tmp_path / "d.duckdb"
    run(db, src)
    before = q(db, "select count(*) from fct_recipient_events")
    ses.write_object(src, "2026/11/21/00/new", [ses.send("m9", "z@a.example", T0)])
    real = catalog.run_script

    def failing(con, name, params=None):
        if name == "commit/load.sql":
            raise RuntimeError("disk on fire")
        return real(con, name, params)

    monkeypatch.setattr(catalog, "run_script", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(db, src)
    monkeypatch.undo()
    assert q(db, "select count(*) from fct_recipient_events") == before
    assert q(db, "select count(*) from _ingest_objects") == [(2,)]
    assert not list((tmp_path / ".staging").glob("*"))
    summary = run(db, src)
    assert summary.objects_new == 1 and counts(db)["Send"] == 5


def test_each_bounced_recipient_keeps_its_own_action_and_status(tmp_path):
    folder = tmp_path / "ses"
    folder.mkdir()
    rec = ses.bounce("mixed", "one@a.example", T0, T1)
    # AWS's documented bounce object: one recipient failed 5.0.0, the other only delayed 4.0.0.
    fragment = json.loads((Path(__file__).parents[1] / "fixtures" / "ses" /
                           "sns-bounce-object-mixed-recipients.json").read_text())
    rec["bounce"] = fragment
    rec["mail"]["destination"] = ["recipient1@example.com", "recipient2@example.com"]
    ses.write_object(folder, "o", [rec])
    db = tmp_path / "d.duckdb"
    run(db, folder)
    assert q(db, "select recipient, bounce_type, bounce_action, status_code, diagnostic "
                 "from fct_recipient_events order by recipient") == [
        ("recipient1@example.com", "Permanent", "failed", "5.0.0", "smtp; 550 user unknown"),
        ("recipient2@example.com", "Permanent", "delayed", "4.0.0", None),
    ]


def test_every_aws_sample_record_loads_with_its_event_time(tmp_path):
    db = tmp_path / "d.duckdb"
    run(db, Path(__file__).parents[1] / "fixtures" / "ses")
    by_type = dict(q(db, "select event_type, count(*) from fct_recipient_events group by 1"))
    # Every event type of SES event publishing is present in AWS's examples, Click included.
    assert set(by_type) == {"Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay", "Open",
                            "Click", "Rendering Failure", "Subscription"}
    missing_times = "select count(*) from fct_recipient_events where event_at is null or sent_at is null"
    assert q(db, missing_times) == [(0,)]
    # The DeliveryDelay example: delayType and the recipient's own status.
    assert q(db, "select delay_type, status_code from fct_recipient_events "
                 "where event_type = 'DeliveryDelay'") == [("TransientCommunicationFailure", "4.4.1")]


def test_rebuild_from_raw_objects_reproduces_every_fact(tmp_path, src):
    db = tmp_path / "d.duckdb"
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\np1,One,\n")
    (dirs / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    refresh(db, [LocalSource(src)], directory=dirs, quiet=True)
    facts = "select * exclude (load_id) from fct_recipient_events order by event_key"
    before = q(db, facts)
    # The source is gone: only the database's own copy of the objects remains.
    for path in sorted(src.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    summary = refresh_mod.rebuild(db, quiet=True)
    assert summary.objects_new == 2
    assert q(db, facts) == before
    assert q(db, "select portal_id from dir_portals") == [("p1",)]


def test_objects_as_received_are_kept_beside_the_database_by_content(tmp_path, src):
    import hashlib

    from pipelines.warehouse import raw_store

    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    store = raw_store.folder(db)
    kept = {p.name: p.read_bytes() for p in store.glob("*/*")}
    received = {hashlib.sha256(p.read_bytes()).hexdigest(): p.read_bytes()
                for p in src.rglob("*") if p.is_file()}
    assert kept == received  # every object byte for byte, named by its SHA-256, nothing else
    assert q(db, "select sha256, size_bytes from raw_objects order by sha256") == sorted(
        (sha, len(data)) for sha, data in received.items())
    assert "data" not in {c for (c,) in q(db, "select column_name from information_schema.columns "
                                               "where table_name = 'raw_objects'")}


def test_a_database_holding_its_objects_inside_moves_them_beside_it_at_the_next_refresh(tmp_path, src):
    from pipelines.warehouse import raw_store

    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    facts = "select * exclude (load_id) from fct_recipient_events order by event_key"
    before = q(db, facts)
    store = raw_store.folder(db)
    # As an older release left it: the bytes in raw_objects.data, no store beside the file.
    with warehouse.writer(db) as con:
        rows = con.execute("select rowid, sha256 from raw_objects").fetchall()
        con.execute("alter table raw_objects add column data blob")
        for rid, sha256 in rows:
            con.execute("update raw_objects set data = ? where rowid = ?",
                        [raw_store.get(store, sha256), rid])
        con.execute("create or replace table raw_objects as "
                    "select * exclude (sha256, size_bytes) from raw_objects")
    shutil.rmtree(store)
    assert refresh(db, [LocalSource(src)], quiet=True).committed  # nothing new: the upgrade alone
    assert len(list(store.glob("*/*"))) == 2
    for path in sorted(src.rglob("*"), reverse=True):  # the source gone: the store rebuilds the facts
        path.unlink() if path.is_file() else path.rmdir()
    refresh_mod.rebuild(db, quiet=True)
    assert q(db, facts) == before


def test_a_listing_that_fails_midway_commits_nothing(tmp_path, src):
    from pipelines.ingest.sources import S3Source

    class Flaky:
        """An S3 client whose listing dies on its second page (after boto3's own retries)."""

        def get_paginator(self, name):
            class Pages:
                def paginate(self, **kwargs):
                    yield {"Contents": [{"Key": "p/a", "Size": 3, "ETag": '"e1"'}]}
                    raise ConnectionError("endpoint went away mid-listing")
            return Pages()

        def get_object(self, Bucket, Key):
            raise AssertionError("nothing may be read from a listing that did not finish")

    db = tmp_path / "d.duckdb"
    run(db, src)
    counts_now = "select count(*), (select count(*) from _ingest_objects) from fct_recipient_events"
    before = q(db, counts_now)
    with pytest.raises(ConnectionError):
        refresh(db, [LocalSource(src), S3Source("s3://bucket/p", client=Flaky())], quiet=True)
    assert q(db, counts_now) == before


def test_a_load_parsed_in_several_batches_numbers_each_objects_records_from_zero(tmp_path, src, monkeypatch):
    # A 1-byte batch limit parses every object in its own statement, as a large load does.
    monkeypatch.setattr(stage, "_PARSE_BATCH_BYTES", 1)
    teleport = {**ses.send("m9", "zed@z.example", T0), "eventType": "Teleport"}
    ses.write_object(src, HOUR + "s-1-c", [
        ses.send("m5", "eve@e.example", T0),
        ses.sns_envelope(ses.send("m6", "fay@f.example", T0)),
        ses.sns_envelope(teleport),
    ])
    db = tmp_path / "d.duckdb"
    summary = run(db, src)
    # Hand count: the fixture's 8 facts, plus m5 and the SNS-wrapped m6 (one Send each).
    assert summary.facts_new == 10 and summary.records_quarantined == 1
    assert counts(db) == {"Send": 6, "Delivery": 3, "Bounce": 1}
    # The third record of the third object; what it shows is the SES record, not its envelope.
    [(key, index, reason, excerpt)] = q(
        db, "select object_key, record_index, reason, excerpt from _quarantine")
    assert (key, index, reason) == (HOUR + "s-1-c", 2, "unknown event type: Teleport")
    assert excerpt.startswith('{"eventType": "Teleport"')


def test_the_memory_limit_reaches_every_connection_the_refresh_writes_with(tmp_path, src, monkeypatch):
    seen: list[str | None] = []
    configure = warehouse.configure

    def spy(con, memory_limit=None):
        seen.append(memory_limit)
        configure(con, memory_limit)

    monkeypatch.setattr(warehouse, "configure", spy)
    monkeypatch.setattr(connect, "configure", spy)
    db = tmp_path / "d.duckdb"
    # Far below what the load would take unbounded: DuckDB must work within it, not fail.
    summary = run(db, src, memory_limit="64MB")
    assert summary.facts_new == 8
    # The staging connection, which the commit runs on too; readers of the manifest take no limit.
    assert seen.count("64MB") == 1
    with warehouse.writer(db, memory_limit="64MB") as con:
        assert con.execute("select current_setting('memory_limit')").fetchall()[0][0] == "61.0 MiB"


def test_gzip_objects_padded_with_nuls_load_like_clean_ones(tmp_path):
    # DuckDB inflates a clean gzip object itself; one padded with NULs is inflated here instead.
    folder = tmp_path / "ses"
    folder.mkdir()
    records = [ses.send(f"p{i}", f"u{i}@a.example", T0) for i in range(3)]
    body = "".join(json.dumps(r) for r in records).encode()
    (folder / "clean").write_bytes(gzip.compress(body))
    (folder / "padded").write_bytes(gzip.compress(body.replace(b'"p', b'"q')) + b"\0" * 512)
    two = body.replace(b'"p', b'"r')
    (folder / "two-members").write_bytes(gzip.compress(two[:10]) + gzip.compress(two[10:]))
    db = tmp_path / "d.duckdb"
    summary = run(db, folder)
    # Hand count: three objects of three single-recipient Send records each.
    assert summary.records_quarantined == 0 and summary.facts_new == 9
    ids = sorted(m for (m,) in q(db, "select message_id from fct_recipient_events"))
    assert ids == ["p0", "p1", "p2", "q0", "q1", "q2", "r0", "r1", "r2"]


def test_a_commit_out_of_memory_is_retried_whole_with_twice_the_limit(tmp_path, src, monkeypatch, capsys):
    import duckdb

    commit = commit_mod._commit
    limits: list[str] = []

    def commit_running_out_once(*args):
        limits.append(args[-1])
        if len(limits) == 1:
            # As DuckDB fails a statement past its memory limit: midway, inside the transaction.
            real_run_script = catalog.run_script

            def failing(con, name, params=None):
                if name == "commit/load.sql":
                    raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block")
                real_run_script(con, name, params)

            monkeypatch.setattr(catalog, "run_script", failing)
            try:
                return commit(*args)
            finally:
                monkeypatch.setattr(catalog, "run_script", real_run_script)
        return commit(*args)

    monkeypatch.setattr(commit_mod, "_commit", commit_running_out_once)
    db = tmp_path / "d.duckdb"
    summary = run(db, src, memory_limit="300MB")
    assert limits == ["300MB", "600MB"]
    assert "retrying with 600MB" in capsys.readouterr().err
    # The failed attempt left nothing behind: the fixture's hand count (8 facts), once.
    assert summary.facts_new == 8 and counts(db) == {"Send": 4, "Delivery": 3, "Bounce": 1}
    assert q(db, "select count(*) from _loads") == [(1,)]


def test_a_doubled_memory_limit_stops_at_duckdbs_default():
    from pipelines.config import doubled_memory_limit, memory_bytes

    assert doubled_memory_limit("1GB") == "2000MB"
    assert memory_bytes("512MiB") == 512 * 1024**2
    # Past 80% of the machine there is no more to give: the refresh fails with DuckDB's message.
    assert doubled_memory_limit("100TB") is None
    assert doubled_memory_limit(None) is None


def test_a_checkpoint_failing_after_the_commit_reports_the_load_as_committed(
        tmp_path, src, monkeypatch, capsys):
    import contextlib

    import duckdb

    @contextlib.contextmanager
    def writer_whose_checkpoint_fails(con, path, wait_seconds=120.0, memory_limit=None):
        con.execute("pragma disable_checkpoint_on_shutdown")
        con.execute("attach ? as live", [str(path)])
        con.execute("use live")
        try:
            yield con
            # As a full disk fails DuckDB's checkpoint: after the commit, before the file is updated.
            raise duckdb.IOException("could not write file: No space left on device")
        finally:
            con.execute("use stg")
            con.execute("detach live")

    monkeypatch.setattr(warehouse, "attached_writer", writer_whose_checkpoint_fails)
    db = tmp_path / "d.duckdb"
    summary = run(db, src)
    assert summary.committed and summary.facts_new == 8
    assert "load 1 is committed but the checkpoint after it failed" in capsys.readouterr().err
    monkeypatch.undo()
    # The load is in the WAL: a reader sees it (the fixture's hand count), and it is not loaded twice.
    assert counts(db) == {"Send": 4, "Delivery": 3, "Bounce": 1}
    assert run(db, src).notes == ["nothing new"]


def test_a_commit_keeps_the_views_this_code_stored(tmp_path, src):
    db = tmp_path / "d.duckdb"
    run(db, src)
    applied = q(db, "select definition_hash, applied_at from _view_definitions")
    ses.write_object(src, "2026/11/21/00/new", [ses.send("m9", "z@a.example", T0)])
    assert run(db, src).facts_new == 1
    # Not re-created by the second commit (one row, the first commit's), and the views read the new fact.
    assert q(db, "select definition_hash, applied_at from _view_definitions") == applied
    assert q(db, "select count(*) from fct_rated_outcomes where recipient = 'z@a.example'") == [(1,)]


def test_a_large_load_is_staged_in_a_file_and_loads_the_same(tmp_path, src, monkeypatch):
    from pipelines.ingest import stage

    staged_in_files = []
    build = stage.Stager.build

    def spy(self):
        staged_in_files.append((self.folder / "staging.duckdb").exists())
        return build(self)

    monkeypatch.setattr(stage.Stager, "build", spy)
    run(tmp_path / "memory.duckdb", src)
    monkeypatch.setattr(stage, "_IN_MEMORY_BYTES", 0)  # every load is large
    run(tmp_path / "file.duckdb", src)
    assert staged_in_files == [False, True]
    rows = "select * exclude (load_id) from fct_recipient_events order by event_key"
    assert q(tmp_path / "file.duckdb", rows) == q(tmp_path / "memory.duckdb", rows)
    assert len(q(tmp_path / "file.duckdb", rows)) == 8  # the fixture's hand count
