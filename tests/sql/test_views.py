"""The SQL layer: every view binds on an empty database, reads only lower layers, states its grain."""

from __future__ import annotations

import re

import duckdb

from pipelines import store


def test_every_view_binds_on_an_empty_database():
    con = duckdb.connect()
    store.create_schema(con, staging=True)
    names = store.apply_views(con) + store.apply_views(con, staging=True)
    assert names == [p.stem for p in store.view_files() + store.view_files(staging=True)]
    for name in names:
        assert con.execute(f"select count(*) from {name}").fetchone() == (0,)


def test_live_views_bind_without_the_staging_tables():
    con = duckdb.connect()
    store.create_schema(con)
    store.apply_views(con)


def test_views_read_only_lower_layers_and_raw_tables():
    files = store.view_files() + store.view_files(staging=True)
    layer = {p.stem: store.LAYERS.index(p.stem.split("_", 1)[0]) for p in files}
    for path in files:
        sql = re.sub(r"--[^\n]*", "", path.read_text())
        for target in re.findall(r"\b(?:from|join)\s+([a-z_][a-z0-9_]*)", sql, re.I):
            if target in layer:
                assert layer[target] < layer[path.stem] or (
                    layer[target] == layer[path.stem] and target < path.stem
                ), f"{path.name} reads {target}, which is not a lower layer"


def test_every_view_states_its_grain():
    for path in store.view_files() + store.view_files(staging=True):
        assert re.match(r"-- grain: ", path.read_text()), f"{path.name} lacks a '-- grain:' header"


def test_every_read_binds_on_an_empty_database(tmp_path):
    from pipelines import reads

    db = tmp_path / "empty.duckdb"
    with store.writer(db) as con:
        store.create_schema(con)
        store.apply_views(con)
    for path in sorted(reads.READS_DIR.glob("*.sql")):
        params = {p: 10 for p in re.findall(r"\$([a-z_]+)", path.read_text())}
        reads.read(db, path.stem, **params)
