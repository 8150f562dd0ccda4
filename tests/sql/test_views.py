"""The SQL layer: every view binds on an empty database, reads only lower layers, states its grain."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import duckdb

from pipelines import store


def test_every_view_binds_on_an_empty_database():
    con = duckdb.connect()
    store.create_schema(con, staging=True)
    names = store.apply_views(con) + store.apply_views(con, staging=True)
    files = store.view_files() + store.view_files(staging=True)
    scoped = [p.stem for p in files if p.parent == store.SCOPED_QUERIES_DIR]
    assert names == [p.stem for p in files if p.stem not in scoped]
    for name in names:
        assert con.execute(f"select count(*) from {name}").fetchone() == (0,)
    # Each scoped macro is bound through its view (with the scope meaning "all"); the scoped runs are
    # checked against the views in tests/sql/test_aggregate_tables.py.
    assert all(name.removesuffix("_for") in names for name in scoped)


def test_live_views_bind_without_the_staging_tables():
    con = duckdb.connect()
    store.create_schema(con)
    store.apply_views(con)


def test_views_read_only_lower_layers_and_raw_tables():
    for files in (store.view_files(), store.view_files(staging=True)):
        # Apply order is layer by layer, so reading only what comes earlier means lower layers.
        position = {p.stem: i for i, p in enumerate(files)}
        for path in files:
            sql = re.sub(r"--[^\n]*", "", path.read_text())
            for target in re.findall(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)", sql, re.I):
                if target in position:
                    assert position[target] < position[path.stem], \
                        f"{path.name} reads {target}, which is not a lower layer"


def test_every_view_states_its_grain():
    for path in store.view_files() + store.view_files(staging=True):
        assert re.match(r"-- grain: ", path.read_text()), f"{path.name} lacks a '-- grain:' header"


# A value of the right type for every parameter name the reads use.
SAMPLE_PARAMS = {
    "limit": 10, "window_days": 30, "dimension": "portal", "portal_id": "p1", "rollup": True,
    "as_of": datetime(2026, 11, 20, tzinfo=UTC), "since": date(2026, 11, 1), "until": date(2026, 11, 20),
    "portals": ["p1"], "with_subportals": True, "kind": "all", "query": "x", "batch_id": "b1",
    "recipient": "a@b.example", "days": 30, "min_sent": 100, "address": "a@b.example",
    "addresses": ["a@b.example"], "dead_domain_min_sent": 3, "horizon": 3, "baseline_days": 30.0,
    "trend_days": 7.0, "q": "x'; select 1 --",
}


def test_every_read_binds_on_an_empty_database(tmp_path):
    from pipelines import reads
    from pipelines.policy import load_policy

    db = tmp_path / "empty.duckdb"
    with store.writer(db) as con:
        store.create_schema(con)
        store.apply_views(con)
    for path in sorted(reads.READS_DIR.glob("*.sql")):
        sql = path.read_text()
        params = {p: SAMPLE_PARAMS[p] for p in re.findall(r"\$([a-z_]+)", sql)}
        tables = {"policy_windows": load_policy().windows_frame()} if "policy_windows" in sql else None
        reads.read(db, path.stem, tables=tables, **params)


def test_a_reader_of_a_file_with_another_versions_views_uses_its_own(tmp_path):
    db = tmp_path / "old.duckdb"
    with store.writer(db) as con:
        store.create_schema(con)
        store.apply_views(con)
        con.execute("insert into fct_address_facts (portal_id, recipient, sends) "
                    "values ('p1', 'a@b.example', 3)")
        # What an older release might have stored: a view this code defines differently.
        con.execute("create or replace view mart_address_facts as select 'stale' as recipient")
        con.execute("update _view_definitions set definition_hash = 'older release'")
    with store.reader(db) as con:
        rows = con.execute("select recipient, sends from mart_address_facts").fetchall()
        assert rows == [("a@b.example", 3)]
    # The file itself is untouched: the next refresh stores the current views.
    with store.writer(db) as con:
        assert con.execute("select recipient from mart_address_facts").fetchall() == [("stale",)]
