"""The lake export: every table read back from its Parquet equals the database's, row for row; the next
export rewrites only what the loads since touched; an erasure, a rebuild or a crash never leaves a lake
that says something else than a database it came from.

The fixture, counted by hand (one refresh, load 1, with the directory):
  events   2026-11-20: m1 Send + Bounce (a@x.example, p1), m2 Send + Delivery (b@y.example, p2) = 4
           2026-11-21: m3 Send (c@x.example, p1)                                                  = 1
  outcomes 2026-11-20: (m1, a), (m2, b) = 2;  2026-11-21: (m3, c) = 1
  address facts (p1, a), (p1, c), (p2, b) = 3;  dir_portals 2, dir_users 3 (a, b, c), dir_batches 1
So a first export writes 2 + 2 partitions and 4 whole tables = 8 files, 4+1+2+1+3+2+3+1 = 17 rows.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
import duckdb
import pytest

from pipelines import warehouse
from pipelines.cli import main
from pipelines.ingest.forget import forget
from pipelines.ingest.refresh import rebuild, refresh
from pipelines.ingest.sources import LocalSource
from pipelines.lake import export as lake_export
from pipelines.lake.export import TABLES, export_lake, plan
from tests import sesdata as ses
from tests.pipeline.test_bounce_logs import dsn_mail

D20, D21 = "2026-11-20T10:00:00.000Z", "2026-11-21T09:00:00.000Z"
LATER = "2026-11-21T09:00:05.000Z"
EVENTS_20 = "fct_recipient_events/sent_date=2026-11-20/part-0.parquet"
EVENTS_21 = "fct_recipient_events/sent_date=2026-11-21/part-0.parquet"
OUTCOMES_20 = "fct_recipient_outcomes/sent_date=2026-11-20/part-0.parquet"
OUTCOMES_21 = "fct_recipient_outcomes/sent_date=2026-11-21/part-0.parquet"
WHOLE_FILES = [f"{t}/part-0.parquet"
               for t in ("dir_batches", "dir_portals", "dir_users", "fct_address_facts")]
ALL_FILES = sorted([EVENTS_20, EVENTS_21, OUTCOMES_20, OUTCOMES_21, *WHOLE_FILES])


def write_directory(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "portals.csv").write_text("portal_id,name,parent_portal_id,email_enabled\np1,One,,true\n"
                                        "p2,Two,,true\n")
    (folder / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
                                      "u1,p1,Ann,a@x.example,active,b1,2026-01-01T00:00:00Z\n"
                                      "u2,p2,Bea,b@y.example,active,b1,2026-01-01T00:00:00Z\n"
                                      "u3,p1,Cem,c@x.example,active,b1,2026-01-01T00:00:00Z\n")
    (folder / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n"
                                        "b1,p1,2026-01-01T00:00:00Z,upload.csv,2\n")
    return folder


def build(root: Path) -> tuple[Path, Path]:
    """The fixture of the module's docstring: (database, SES source folder)."""
    src, db = root / "ses", root / "d.duckdb"
    m2_sent = "2026-11-20T11:00:00.000Z"
    ses.write_object(src, "day1", [
        ses.send("m1", "a@x.example", D20), ses.bounce("m1", "a@x.example", D20, "2026-11-20T10:00:05.000Z"),
        ses.send("m2", "b@y.example", m2_sent, portal="p2"),
        ses.delivery("m2", "b@y.example", m2_sent, "2026-11-20T11:00:02.000Z", portal="p2"),
        ses.send("m3", "c@x.example", D21),
    ])
    refresh(db, [LocalSource(src)], write_directory(root / "dir"), quiet=True)
    return db, src


def load_m3_bounce(db: Path, src: Path) -> None:
    """Load 2: a bounce of m3, sent 2026-11-21: only that day's partitions (and the address facts) change."""
    ses.write_object(src, "day2", [ses.bounce("m3", "c@x.example", D21, LATER)])
    refresh(db, [LocalSource(src)], quiet=True)


def manifest(lake: Path) -> dict:
    return json.loads((lake / "_manifest.json").read_text())


def files(lake: Path) -> list[str]:
    return sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet"))


def lake_select(lake: Path, table: str, spec: dict) -> str:
    cols = ", ".join(f'"{c["name"]}"' for c in spec["columns"])
    pattern = f"{lake}/{table}/*/*.parquet" if spec["partition_by"] else f"{lake}/{table}/*.parquet"
    return f"select {cols} from read_parquet('{pattern}', hive_partitioning = true)"


def assert_lake_equals_database(lake: Path, db: Path) -> None:
    """Every table: the manifest's columns and types are the table's, in order; the Parquet read back with
    those columns holds the table's rows exactly (order aside); the manifest's counts are the files'."""
    doc = manifest(lake)
    assert sorted(doc["tables"]) == sorted(TABLES)
    with warehouse.reader(db, views=False) as con:
        assert doc["load_id"] == con.execute("select max(load_id) from _loads").fetchone()[0]
        for table, spec in doc["tables"].items():
            described = con.execute(f"describe {table}").fetchall()
            assert [(c["name"], c["type"]) for c in spec["columns"]] == [(r[0], r[1]) for r in described]
            if not con.execute(f"select count(*) from {table}").fetchone()[0] and spec["partition_by"]:
                assert spec["partitions"] == [] and not (lake / table).exists()
                continue
            query = lake_select(lake, table, spec)
            read_types = [r[1] for r in con.execute(f"describe {query}").fetchall()]
            assert read_types == [r[1] for r in described], table  # timestamps come back as UTC timestamps
            got = con.execute(query).fetchall()
            want = con.execute(f"select * from {table}").fetchall()
            assert sorted(got, key=repr) == sorted(want, key=repr), table
            for part in spec["partitions"]:
                path = lake / part["path"]
                assert path.stat().st_size == part["bytes"]
                rows = con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
                assert rows == part["rows"], part["path"]


def stats(lake: Path) -> dict[str, tuple[int, int]]:
    return {rel: ((lake / rel).stat().st_ino, (lake / rel).stat().st_mtime_ns) for rel in files(lake)}


def test_every_table_reads_back_equal_with_the_manifests_columns_and_types(tmp_path):
    db, _ = build(tmp_path)
    lake = tmp_path / "lake"
    result = export_lake(db, str(lake))
    # The module docstring's count: 8 files, 17 rows, all written by a first (full) export.
    assert (result.full, result.partitions_written, result.partitions_kept, result.rows) == (True, 8, 0, 17)
    assert result.bytes == sum((lake / rel).stat().st_size for rel in files(lake))
    assert files(lake) == ALL_FILES
    assert_lake_equals_database(lake, db)
    doc = manifest(lake)
    assert (doc["format"], doc["version"], doc["load_id"]) == ("bouncedesk-lake", 1, 1)
    events = doc["tables"]["fct_recipient_events"]
    assert [(p["value"], p["rows"]) for p in events["partitions"]] == [("2026-11-20", 4), ("2026-11-21", 1)]
    # The partition column keeps its place in the table's order (Spark's `select *` would put it last).
    assert [c["name"] for c in events["columns"]].index("sent_date") == 7
    with warehouse.reader(db, views=False) as con:
        recorded = con.execute("select target, load_id, full_export, partitions_written, rows_written "
                               "from _lake_exports").fetchall()
    assert recorded == [(str(lake), 1, True, 8, 17)]


def test_nothing_new_writes_nothing_and_a_new_load_rewrites_only_its_send_date(tmp_path):
    db, src = build(tmp_path)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    before = stats(lake)

    again = export_lake(db, str(lake))
    assert (again.full, again.partitions_written, again.partitions_kept, again.rows) == (False, 0, 8, 0)
    assert stats(lake) == before

    load_m3_bounce(db, src)
    result = export_lake(db, str(lake))
    # 2026-11-21's events (now m3's Send and Bounce) and outcome, and the address facts (c's changed):
    # 3 files, 2 + 1 + 3 rows; the other 5 files are kept as they were.
    assert (result.full, result.partitions_written, result.partitions_kept, result.rows) == (False, 3, 5, 6)
    after = stats(lake)
    rewritten = {EVENTS_21, OUTCOMES_21, "fct_address_facts/part-0.parquet"}
    assert {rel for rel in after if after[rel] == before[rel]} == set(ALL_FILES) - rewritten
    assert manifest(lake)["load_id"] == result.load_id == 2
    events = manifest(lake)["tables"]["fct_recipient_events"]["partitions"]
    assert [(p["value"], p["rows"], p["load_id"]) for p in events] == [
        ("2026-11-20", 4, 1), ("2026-11-21", 2, 2)]
    assert_lake_equals_database(lake, db)


def test_a_new_send_date_is_a_new_partition(tmp_path):
    db, src = build(tmp_path)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    ses.write_object(src, "day3", [ses.send("m4", "d@x.example", "2026-11-22T08:00:00.000Z")])
    refresh(db, [LocalSource(src)], quiet=True)
    result = export_lake(db, str(lake))
    # m4 alone on 2026-11-22: one new events partition, one new outcomes partition, the address facts.
    assert (result.partitions_written, result.partitions_kept, result.rows) == (3, 7, 1 + 1 + 4)
    assert "fct_recipient_events/sent_date=2026-11-22/part-0.parquet" in files(lake)
    assert_lake_equals_database(lake, db)


def test_a_row_a_load_deleted_on_a_day_it_added_nothing_to_is_found_by_the_row_counts(tmp_path):
    db, src = build(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    # Load 2: a bounce mail about m7, dated by the mail's returned headers: 2026-11-20 (5 events that day).
    (logs / "1.eml").write_bytes(dsn_mail("d@x.example", "m7"))
    refresh(db, [LocalSource(logs)], quiet=True)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    # Load 3: SES's own Send and Bounce of m7, sent 2026-11-21. SES's bounce wins: the commit deletes the
    # mail's row on 2026-11-20, a day load 3 added nothing to; only the row count shows it (5 -> 4).
    ses.write_object(src, "day2", [ses.send("m7", "d@x.example", D21),
                                   ses.bounce("m7", "d@x.example", D21, LATER)])
    refresh(db, [LocalSource(src)], quiet=True)
    export_lake(db, str(lake))
    events = manifest(lake)["tables"]["fct_recipient_events"]["partitions"]
    assert [(p["value"], p["rows"]) for p in events] == [("2026-11-20", 4), ("2026-11-21", 3)]
    assert_lake_equals_database(lake, db)


def test_after_forget_the_lake_no_longer_holds_the_address_anywhere(tmp_path):
    db, src = build(tmp_path)
    load_m3_bounce(db, src)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    assert "c@x.example" in (lake / EVENTS_21).read_bytes().decode("latin-1")

    forget(db, "c@x.example")
    result = export_lake(db, str(lake))
    # An erasure rewrites everything (c is in dir_users too, which no load touched): c was 2026-11-21's
    # only recipient, so both of that day's partitions go (2 files removed) and 6 are written
    # (2026-11-20's two and the four whole tables).
    assert (result.full, result.partitions_written, result.partitions_removed) == (True, 6, 2)
    assert "erasure" in result.reason
    assert files(lake) == sorted(set(ALL_FILES) - {EVENTS_21, OUTCOMES_21})
    con = duckdb.connect()
    for table, spec in manifest(lake)["tables"].items():
        every_row = f"select string_agg(cast(t as varchar), ' ') from ({lake_select(lake, table, spec)}) t"
        text = con.execute(every_row).fetchone()[0] or ""
        assert "c@x.example" not in text, table
        assert "a@x.example" in text or table in ("dir_portals", "dir_batches"), table  # the others stay
    assert_lake_equals_database(lake, db)


def test_a_rebuilt_database_is_exported_whole(tmp_path):
    db, src = build(tmp_path)
    load_m3_bounce(db, src)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    rebuild(db, quiet=True)  # loads are numbered from 1 again
    result = export_lake(db, str(lake))
    # Load 1 of the rebuilt file holds both objects: all 8 files again, 4+2+2+1+3+2+3+1 = 18 rows.
    assert (result.full, result.partitions_written, result.rows, result.load_id) == (True, 8, 18, 1)
    assert manifest(lake)["load_id"] == 1
    assert_lake_equals_database(lake, db)


LINEAGE = datetime(2026, 12, 1, tzinfo=UTC)


def lake_state(**changes) -> tuple[dict, dict, dict]:
    """(database state, its record of the last export, the lake's manifest) of a lake at load 2 of a
    database now at load 3, with `changes` to the state."""
    state = {"load_id": 3, "lineage": LINEAGE, "erasures": 0, "directory_load_id": 1,
             "aggregates_built_at": 1}
    last = {"load_id": 2, "lineage": LINEAGE, "erasures": 0, "aggregates_built_at": 1}
    return {**state, **changes}, last, {"load_id": 2, "lineage": LINEAGE.isoformat()}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"lineage": datetime(2026, 12, 2, tzinfo=UTC)}, "another database"),  # a rebuild's first load
    ({"directory_load_id": 3}, "directory load"),
    ({"erasures": 1}, "erasure"),
    ({"aggregates_built_at": 2}, "rebuilt whole"),
])
def test_what_makes_an_export_full(changes, reason):
    state, last, old = lake_state()
    assert plan(state, last, old) == (2, "incremental since load 2")
    state, last, old = lake_state(**changes)
    since, why = plan(state, last, old)
    assert since is None and reason in why
    assert plan(state, None, old)[0] is None and plan(state, last, None)[0] is None


def test_a_manifest_ahead_of_the_record_exports_from_the_older_load():
    # A crash between the manifest and the database's record: the record's load id (older) wins.
    state, last, old = lake_state(load_id=5)
    assert plan(state, {**last, "load_id": 3}, {**old, "load_id": 4})[0] == 3


def test_a_crash_mid_export_leaves_the_old_manifest_and_readable_files(tmp_path, monkeypatch):
    db, src = build(tmp_path)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    old_manifest = (lake / "_manifest.json").read_bytes()
    load_m3_bounce(db, src)

    real = lake_export.LocalLake.publish
    published = []

    def crash_after_first(self, staged, rel):
        if published:
            raise OSError("disk gone")
        real(self, staged, rel)
        published.append(rel)

    monkeypatch.setattr(lake_export.LocalLake, "publish", crash_after_first)
    with pytest.raises(OSError, match="disk gone"):
        export_lake(db, str(lake))
    assert published == [EVENTS_21]  # the first partition this export rewrites
    assert (lake / "_manifest.json").read_bytes() == old_manifest
    assert not list(lake.glob(".export-*"))  # the staging folder is cleared
    # Every file the old manifest names is there and whole: the old one, or (the one swapped in) the
    # newer complete one, with 2026-11-21's two events now.
    con = duckdb.connect()
    for spec in json.loads(old_manifest)["tables"].values():
        for part in spec["partitions"]:
            rows = con.execute(f"select count(*) from read_parquet('{lake / part['path']}')").fetchone()[0]
            assert rows == (2 if part["path"] == EVENTS_21 else part["rows"]), part["path"]
    with warehouse.reader(db, views=False) as wh:
        assert wh.execute("select count(*) from _lake_exports").fetchone()[0] == 1  # the crashed one: none

    monkeypatch.setattr(lake_export.LocalLake, "publish", real)
    result = export_lake(db, str(lake))
    # Still incremental from load 1: the same 3 files as an export that never crashed.
    assert (result.full, result.partitions_written, result.partitions_kept) == (False, 3, 5)
    assert_lake_equals_database(lake, db)


def test_rows_with_no_send_time_go_to_the_null_partition(tmp_path):
    # The loader keeps only facts with a time (queries/stage/facts.sql), but the tables allow a null send
    # date; set one by hand to see where the export puts it and that it reads back as null.
    db, _ = build(tmp_path)
    with warehouse.writer(db) as con:
        for table in ("fct_recipient_events", "fct_recipient_outcomes"):
            con.execute(f"update {table} set sent_at = null, sent_date = null where message_id = 'm3'")
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    assert "fct_recipient_events/sent_date=__HIVE_DEFAULT_PARTITION__/part-0.parquet" in files(lake)
    events = manifest(lake)["tables"]["fct_recipient_events"]["partitions"]
    assert [(p["value"], p["rows"]) for p in events] == [("2026-11-20", 4), (None, 1)]
    assert_lake_equals_database(lake, db)
    again = export_lake(db, str(lake))
    assert again.partitions_written == 0  # the null partition is matched to itself, not rewritten


def test_a_partition_duckdb_split_over_two_files_is_written_again_as_one(tmp_path, monkeypatch):
    # DuckDB may write a partition as one file per thread; a partition must swap in as one file.
    db, _ = build(tmp_path)
    real = lake_export.catalog.run_script

    def split(con, path, params=None, tables=None):
        real(con, path, params, tables)
        if path == "lake/write_partitions.sql":  # each day's rows in data_1, none in data_0
            for part in Path(params["path"]).glob("*/data_0.parquet"):
                rows = part.rename(part.with_name("data_1.parquet"))
                con.execute(f"copy (from read_parquet('{rows}') limit 0) to '{part}' (format parquet)")

    monkeypatch.setattr(lake_export.catalog, "run_script", split)
    lake = tmp_path / "lake"
    export_lake(db, str(lake))
    assert files(lake) == ALL_FILES
    assert_lake_equals_database(lake, db)  # every day's rows, in the one file


def test_an_s3_lake_is_uploaded_and_read_back(tmp_path, aws_env):
    db, src = build(tmp_path)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="lake-bucket")
    result = export_lake(db, "s3://lake-bucket/lake/")
    assert (result.target, result.partitions_written, result.rows) == ("s3://lake-bucket/lake", 8, 17)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="lake-bucket")["Contents"])
    assert keys == sorted(["lake/_manifest.json", *(f"lake/{rel}" for rel in ALL_FILES)])
    local = tmp_path / "events-20.parquet"
    s3.download_file("lake-bucket", f"lake/{EVENTS_20}", str(local))
    con = duckdb.connect()
    got = con.execute(f"select message_id, event_type from read_parquet('{local}') order by all").fetchall()
    assert got == [("m1", "Bounce"), ("m1", "Send"), ("m2", "Delivery"), ("m2", "Send")]
    doc = json.loads(s3.get_object(Bucket="lake-bucket", Key="lake/_manifest.json")["Body"].read())
    assert doc["tables"]["fct_recipient_events"]["partitions"][0]["rows"] == 4

    assert export_lake(db, "s3://lake-bucket/lake").partitions_written == 0  # from the S3 manifest
    load_m3_bounce(db, src)
    assert export_lake(db, "s3://lake-bucket/lake").partitions_written == 3
    forget(db, "c@x.example")
    result = export_lake(db, "s3://lake-bucket/lake")
    assert result.partitions_removed == 2  # 2026-11-21 is gone from S3 too
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lake-bucket")["Contents"]}
    assert f"lake/{EVENTS_21}" not in keys and f"lake/{EVENTS_20}" in keys


def test_lake_export_command_line(tmp_path, capsys):
    db, _ = build(tmp_path)
    lake = tmp_path / "lake"
    assert main(["lake", "export", "--to", str(lake), "--db", str(db), "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    [line] = out.splitlines()
    assert line.startswith("tables=6 partitions_written=8 partitions_kept=0 rows=17 bytes=")
    assert " load_id=1 " in line and " seconds=" in line

    assert main(["lake", "export", "--to", str(lake), "--db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert "partitions_written=0 partitions_kept=8 rows=0 bytes=0" in out
    assert "incremental since load 1" in err  # progress on stderr without -q

    assert main(["lake", "export", "--db", str(db)]) == 2
    assert "needs --to" in capsys.readouterr().err
    assert main(["lake", "export", "--to", str(lake), "--db", str(tmp_path / "none.duckdb")]) == 2
    with warehouse.refresh_lock(db):
        assert main(["lake", "export", "--to", str(lake), "--db", str(db), "-q"]) == 75
    assert "another refresh" in capsys.readouterr().err


def test_refresh_with_lake_exports_after_the_commit(tmp_path, capsys):
    src, dirs = tmp_path / "ses", write_directory(tmp_path / "dir")
    db, lake = tmp_path / "d.duckdb", tmp_path / "lk"
    ses.write_object(src, "day1", [ses.send("m1", "a@x.example", D20), ses.send("m3", "c@x.example", D21)])
    argv = ["refresh", "--source", str(src), "--db", str(db), "-q"]
    assert main([*argv, "--directory", str(dirs), "--lake", str(lake)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("load_id=1 ")  # the refresh's own line, unchanged and first
    # m1 on 11-20, m3 on 11-21: 2 + 2 partitions and 4 whole tables; rows 2+2+2 facts, 2+3+1 directory.
    assert lines[1].startswith("lake tables=6 partitions_written=8 partitions_kept=0 rows=12 ")
    assert err == ""
    assert_lake_equals_database(lake, db)

    # The config's `lake`, relative to the config's folder; nothing new: nothing rewritten (a refresh
    # given --directory loads the directory again, which rewrites everything).
    (tmp_path / "refresh.toml").write_text('lake = "lk"\n')
    assert main([*argv, "--config", str(tmp_path / "refresh.toml")]) == 0
    assert "lake tables=6 partitions_written=0 partitions_kept=8" in capsys.readouterr().out

    # A lake that cannot be written never fails the committed refresh: one line on stderr, none on stdout.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    ses.write_object(src, "day2", [ses.send("m5", "e@x.example", D21)])
    assert main([*argv, "--lake", str(blocker)]) == 0
    out, err = capsys.readouterr()
    assert [line for line in out.splitlines() if line.startswith("lake")] == []
    assert out.startswith("load_id=2 ") and " committed=True " in out
    [warning] = err.splitlines()
    assert warning.startswith("lake: not exported: ")
    assert os.path.isfile(blocker)
