"""The same models and reads on DuckDB and on Apache Spark, proven equal row by row: over the demo's
lake, and over a hand-made lake built to catch the answers that differ silently between engines
(arg_max over a null, same-instant ties, NULL keys in an IN list, a window across a daylight-saving
change). One Spark session (local[2]) for the module; marker `spark` (run by .ci/run)."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from pipelines import cli as cli_mod
from pipelines import warehouse
from pipelines.lake import spark_sql
from pipelines.lake.export import export_lake
from pipelines.reports import metrics
from pipelines.reports.policy import load_policy
from pipelines.warehouse import reads
from tests import sesdata as ses

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    from pipelines.lake.spark import TINY_LAKE, session

    s = session("local[2]", TINY_LAKE)
    yield s
    s.stop()


def _lake(tmp_path_factory, name: str, build) -> dict:
    from pipelines.lake.spark import SparkConnection

    root = tmp_path_factory.mktemp(name)
    db = root / "d.duckdb"
    build(root, db)
    export_lake(db, str(root / "lake"))
    lake = str(root / "lake")
    return {"db": db, "lake": lake, "connect": lambda spark: SparkConnection(spark, lake)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from pipelines.demo.build import build_demo

    return _lake(tmp_path_factory, "demo-lake",
                 lambda root, db: build_demo(root / "demo", db, sends=4000, portals=12, days=40, quiet=True))


def _tricky(root: Path, db: Path) -> None:
    """Rows where engines disagree unless the SQL says exactly what it means."""
    from pipelines.ingest.refresh import refresh
    from pipelines.ingest.sources import LocalSource
    from tests.sql.test_rates_status import write_directory

    src = root / "ses"
    t0, t1, t2 = "2026-03-28T23:30:00.000Z", "2026-03-29T01:30:00.000Z", "2026-03-29T02:30:00.000Z"
    records = [
        # p1: a classified hard bounce, then a later bounce of the same address with no reason text
        # (arg_max of a null reason must keep the classified one on both engines).
        ses.send("m1", "a@x.example", t0, portal="p1"),
        ses.bounce("m1", "a@x.example", t0, t1, portal="p1"),
        ses.send("m2", "a@x.example", t1, portal="p1"),
        ses.bounce("m2", "a@x.example", t1, t2, portal="p1", btype="Undetermined", subtype="Undetermined",
                   status="", diagnostic=""),
        # p2: two sends at the same instant (ties in every ordering), across the night Europe moves its
        # clocks (2026-03-29); the session time zone is UTC on both.
        ses.send("m3", ["b@y.example", "c@y.example"], t1, portal="p2"),
        ses.bounce("m3", "b@y.example", t1, t1, portal="p2"),
        # Mail with no portal at all: a NULL key wherever portals are matched.
        ses.send("m4", "d@z.example", t2, portal=None),
        ses.bounce("m4", "d@z.example", t2, t2, portal=None),
    ]
    ses.write_object(src, "1", records)
    refresh(db, [LocalSource(src)], write_directory(root / "dir"), quiet=True)


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    return _lake(tmp_path_factory, "tricky-lake", _tricky)


def _same(duck: pl.DataFrame, sparkf: pl.DataFrame, what: str) -> None:
    assert duck.columns == sparkf.columns, what
    assert duck.height == sparkf.height, f"{what}: {duck.height} rows on DuckDB, {sparkf.height} on Spark"

    def key(row: tuple) -> tuple:
        return tuple((v is None, repr(v)) for v in row)

    def rows(frame: pl.DataFrame) -> list[tuple]:
        return sorted((tuple(_plain(v) for v in r) for r in frame.iter_rows()), key=key)

    for a, b in zip(rows(duck), rows(sparkf), strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                # Sums of doubles may be added in another order: equal to the last few bits.
                assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15), (what, a, b)
            else:
                assert x == y, (what, a, b)


def _plain(v):
    if isinstance(v, list):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _plain(x)) for k, x in v.items()))
    if isinstance(v, float) and v == int(v) and abs(v) < 2**53:
        return float(v)
    return v


def _params(con, sql: str) -> dict:
    """Parameters for a read on the lake's data: its newest event as as-of, its worst portal."""
    as_of = metrics.default_as_of(con)
    worst = metrics.worst_first(metrics.status_table(con))["portal_id"][0]
    # Real addresses of the worst portal (bounced ones first), a typo and one nobody knows.
    known = con.sql("select recipient, recipient_domain from fct_address_facts where portal_id = $p "
                    "order by bounces desc, recipient limit 3", params={"p": worst}).fetchall()
    addresses = [r for r, _ in known] + ["someone@gmial.com", "nobody@nowhere.example"]
    batch = con.sql("select max(upload_batch_id) from fct_recipient_outcomes where portal_id = $p",
                    params={"p": worst}).fetchall()[0][0]
    values = {
        "addresses": addresses, "address": addresses[0], "recipient": addresses[0],
        "domains": sorted({d for _, d in known} | {"gmial.com"}), "batch_id": batch,
        "limit": 1000, "window_days": 30, "dimension": "portal", "portal_id": worst, "rollup": True,
        "as_of": as_of, "since": (as_of - timedelta(days=30)).date(), "until": as_of.date(),
        "portals": [worst], "with_subportals": True, "kind": "all", "query": "a", "q": "a",
        "days": 30, "min_sent": 10, "dead_domain_min_sent": 3, "horizon": 3, "baseline_days": 30.0,
        "trend_days": 7.0,
    }
    return {p: values[p] for p in catalog_params(sql) if p in values}


def catalog_params(sql: str) -> list[str]:
    import re

    return sorted(set(re.findall(r"\$([a-z_0-9]+)", sql)))


FRAMES = {"policy_windows": lambda: load_policy().windows_frame(),
          "windows": lambda: pl.DataFrame(schema=metrics.JUDGED_SCHEMA)}


def _fixed_models(models: list[tuple[str, str]]) -> set[str]:
    """Of `models` (spark_sql.spark_models()), those whose rows no session variable changes (a read sets
    them, e.g. the policy's soft_bounces_before_suppress), neither in their own SQL nor in a model they
    read."""
    from pipelines.warehouse import catalog

    text = dict(models)
    varying: set[str] = set()
    for m in catalog.models():
        if m.name in text and ("system.session." in text[m.name]
                               or catalog.reads_of(m, set(text)) & varying):
            varying.add(m.name)
    return set(text) - varying


def _compare_everything(spark, lk: dict, label: str) -> list[str]:
    """Every model and every Spark read of one lake on both engines; the names compared."""
    from pipelines.lake.spark import SparkConnection
    from pipelines.warehouse import catalog

    sc = SparkConnection(spark, lk["lake"])
    compared = []
    models = spark_sql.spark_models()
    fixed, kept = _fixed_models(models), []
    with warehouse.reader(lk["db"]) as con:
        for name, _ in models:
            duck, on_spark = con.sql(f"select * from {name}").pl(), sc.sql(f"select * from {name}").pl()
            _same(duck, on_spark, f"{label} model {name}")
            compared.append(name)
            if name in fixed:
                # Proven equal, its rows stand in for its view: the models and reads after it are still
                # computed by their own SQL, without Spark analysing its whole chain again in each (half
                # of what the reads cost here).
                kept.append(spark.table(name).localCheckpoint())
                kept[-1].createOrReplaceTempView(name)
        for name in sorted(spark_sql.spark_reads()):
            sql = reads._sql(name)
            params = _params(con, sql)
            tables = {t: f() for t, f in FRAMES.items() if t in catalog.relations_read(sql)}
            duck, on_spark = reads.run(con, name, tables, **params), reads.run(sc, name, tables, **params)
            _same(duck, on_spark, f"{label} read {name}")
            compared.append(name)
    for frame in kept:  # the later tests' Spark jobs get the memory back
        frame.unpersist()
    return compared


def test_every_model_and_read_is_the_same_on_both_engines(spark, demo, tricky):
    from concurrent.futures import ThreadPoolExecutor

    # The two lakes side by side, each in its own Spark session (its own temporary views and
    # variables) over the one Spark context: Spark plans two queries at once on the two cores.
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda job: _compare_everything(spark.newSession(), *job),
                             [(demo, "demo"), (tricky, "tricky")]))
    everything = [m for m, _ in spark_sql.spark_models()] + sorted(spark_sql.spark_reads())
    assert done == [everything, everything]
    assert len(spark_sql.spark_reads()) >= 25  # the reads not for Spark are the bookkeeping ones only


def test_status_prints_the_same_json_on_both_engines(spark, demo, capsys):
    assert cli_mod.main(["status", "--json", "--db", str(demo["db"])]) == 0
    duck = capsys.readouterr().out
    assert cli_mod.main(["status", "--json", "--engine", "spark", "--lake", demo["lake"]]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(duck)


def test_the_bounced_export_is_the_same_csv_on_both_engines(spark, demo, tmp_path, capsys):
    with warehouse.reader(demo["db"]) as con:
        worst = metrics.worst_first(metrics.status_table(con))["portal_id"][0]
    duck, on_spark = tmp_path / "duck.csv", tmp_path / "spark.csv"
    export = ["export", "bounced", "--portal", worst, "--out"]
    assert cli_mod.main([*export, str(duck), "--db", str(demo["db"])]) == 0
    assert cli_mod.main([*export, str(on_spark), "--engine", "spark", "--lake", demo["lake"]]) == 0
    assert on_spark.read_bytes() == duck.read_bytes()
    assert len(duck.read_text().splitlines()) > 5  # the worst portal has bounced addresses to list


def test_lake_marts_recomputes_the_apps_tables_on_spark_into_a_file_it_serves(spark, demo, tmp_path, capsys,
                                                                              monkeypatch):
    import shutil

    from pipelines.lake.marts import build_marts

    # Computed, not copied: the lake's own outcomes lose a day, and the file still has every row.
    lake = tmp_path / "lake"
    shutil.copytree(demo["lake"], lake)
    shutil.rmtree(sorted((lake / "fct_recipient_outcomes").glob("sent_date=2*"))[-1])
    target = tmp_path / "marts.duckdb"
    result = build_marts(str(lake), target, session=spark.newSession())
    # Row for row the database's own tables: the outcomes and address facts recomputed from their models
    # on Spark over the lake's events, the events and directory as the lake holds them.
    with warehouse.reader(demo["db"]) as db, warehouse.reader(target) as marts:
        from pipelines.warehouse import catalog

        for table in ("fct_recipient_events", "dir_portals", "dir_users", "dir_batches",
                      *(m.name for m in catalog.incremental_tables())):
            _same(db.sql(f"select * from {table}").pl(), marts.sql(f"select * from {table}").pl(), table)
            assert result.rows[table] == db.execute(f"select count(*) from {table}").fetchall()[0][0]
        assert marts.execute("select load_id from _lake_marts").fetchall() == [(result.load_id,)]
    # The app's reads answer the same from it: the status JSON is the database's.
    assert cli_mod.main(["status", "--json", "--db", str(demo["db"])]) == 0
    duck = capsys.readouterr().out
    assert cli_mod.main(["status", "--json", "--db", str(target)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(duck)
    # A serving copy holds no raw objects: a refresh refuses it (exit 2) and says what to run instead.
    assert cli_mod.main(["refresh", "--db", str(target), "--source", str(tmp_path)]) == cli_mod.EXIT_USAGE
    assert f"lake marts --lake {lake}" in capsys.readouterr().err
    # A run that fails half-way (the newest day's events file cut short, found while copying) leaves the
    # last file as it was, and nothing half-written beside it.
    before = target.read_bytes()
    cut = sorted((lake / "fct_recipient_events").glob("sent_date=2*/*.parquet"))[-1]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with pytest.raises(Exception, match=r"(?i)parquet"):
        build_marts(str(lake), target, session=spark.newSession())
    assert target.read_bytes() == before
    assert not list(tmp_path.glob("*.building*"))
    # The app opens it as usual, and says where its numbers come from instead of listing no refresh.
    import streamlit as st

    from tests.app.apptest import run_page

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("BOUNCEDESK_DB", str(target))
    health = run_page("pages/pipeline_health.py")
    assert any(f"computed on Spark from the lake {lake} (its export of load {result.load_id})" in i.value
               for i in health.info)
    remake = f"python -m pipelines lake marts --lake {lake} --to FILE.duckdb"
    assert [c.value for c in health.code][:1] == [remake]
    overview = run_page()
    assert "Computed from the lake (UTC)" in [m.label for m in overview.metric]
    st.cache_data.clear()
    st.cache_resource.clear()
