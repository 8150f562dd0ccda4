"""The SQL layer: every model binds on an empty database, reads only what lies below it, states its
grain and materialisation; every read binds and reads only live tables and models."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from pipelines import warehouse
from pipelines.reports import metrics
from pipelines.reports.policy import load_policy
from pipelines.warehouse import catalog

STAGE_MODELS = ("stg_ses_records", "int_ses_recipient_events")
# Frames a read is handed by name (reads.run's `tables`), with the columns they carry.
FRAMES = {
    "policy_windows": lambda: load_policy().windows_frame(),
    "windows": lambda: pl.DataFrame(schema=metrics.JUDGED_SCHEMA),
}


def _relations(script: str, kind: str) -> set[str]:
    pattern = rf"create (?:or replace )?(?:temp )?{kind} (?:if not exists )?([a-z_0-9]+)"
    return set(re.findall(pattern, script))


LIVE_TABLES = _relations(catalog.sql("ddl/schema.sql"), "table")


def test_every_model_binds_on_an_empty_database():
    con = duckdb.connect()
    catalog.create_schema(con, staging=True)
    names = catalog.apply_models(con)
    assert names == [m.name for m in catalog.models()]
    for name in names:
        assert con.execute(f"select count(*) from {name}").fetchall() == [(0,)]
    for m in catalog.models():
        if m.scoped:  # the macro with a scope that selects nothing
            empty = {
                "varchar[]": "[]::varchar[]", "date[]": "[]::date[]",
                "struct(recipients varchar[], shared varchar[])":
                    "{'recipients': []::varchar[], 'shared': []::varchar[]}",
                "struct(portals varchar[], as_of timestamptz, starts_after timestamptz[])":
                    "{'portals': null::varchar[], 'as_of': now(), 'starts_after': []::timestamptz[]}",
            }.get(m.scope_type, "{'keys': []::varchar[], 'first_sent': null::date, 'last_sent': null::date}")
            assert con.execute(f"select count(*) from {m.name}_for({empty})").fetchall() == [(0,)]
    staging = duckdb.connect()
    catalog.create_schema(staging, staging=True)
    for name in STAGE_MODELS:
        catalog.stage_model(staging, name)
        assert staging.execute(f"select count(*) from {name}").fetchall() == [(0,)]


def test_models_apply_after_every_model_they_read():
    order = [m.name for m in catalog.models()]
    names = set(order)
    for m in catalog.models():
        for target in catalog.reads_of(m, names):
            assert order.index(target) < order.index(m.name), f"{m.name} is applied before {target}"


def test_models_read_only_loaded_tables_and_models_of_their_layer_or_below():
    layer = {name: i for i, name in enumerate(catalog.LAYERS)}
    models = {m.name: m for m in catalog.models()}
    for m in catalog.models():
        for target in catalog.relations_read(m.body):
            assert target in LIVE_TABLES or target in models, f"{m.name} reads {target}: no table or model"
            if target in models:
                assert layer[models[target].layer] <= layer[m.layer], \
                    f"{m.name} ({m.layer}) reads {target}, a higher layer"


def test_reads_read_only_live_tables_and_models():
    models = {m.name for m in catalog.models()}
    for path in sorted((catalog.QUERIES_DIR / "reads").glob("*.sql")):
        for target in catalog.relations_read(path.read_text()):
            assert target in LIVE_TABLES | models | set(FRAMES), \
                f"reads/{path.name} reads {target}, which is neither a live table nor a model"


def test_every_model_states_its_grain_and_materialisation():
    for path in sorted(catalog.MODELS_DIR.glob("*.sql")):
        text = path.read_text()
        assert re.match(r"-- grain: ", text), f"{path.name} lacks a '-- grain:' header"
        assert "-- materialised: " in text, f"{path.name} does not say how it is materialised"
    for name in STAGE_MODELS:
        assert re.match(r"-- grain: ", catalog.sql(f"stage/{name}.sql")), f"stage/{name}.sql lacks a grain"


def test_no_model_has_a_hand_written_table_twin():
    # An incremental table is created from its model, never by the schema as well.
    for m in catalog.incremental_tables():
        assert m.name not in LIVE_TABLES


# A value of the right type for every parameter name the reads use.
SAMPLE_PARAMS = {
    "limit": 10, "window_days": 30, "dimension": "portal", "portal_id": "p1", "rollup": True,
    "as_of": datetime(2026, 11, 20, tzinfo=UTC), "since": date(2026, 11, 1), "until": date(2026, 11, 20),
    "portals": ["p1"], "with_subportals": True, "kind": "all", "query": "x", "batch_id": "b1",
    "recipient": "a@b.example", "days": 30, "min_sent": 100, "address": "a@b.example",
    "addresses": ["a@b.example"], "dead_domain_min_sent": 3, "horizon": 3, "baseline_days": 30.0,
    "trend_days": 7.0, "q": "x'; select 1 --", "domains": ["b.example"], "channel": "ops",
    "now": datetime(2026, 11, 20, tzinfo=UTC), "alert_id": "a1", "windows_key": "k",
}


def test_every_read_binds_on_an_empty_database(tmp_path):
    from pipelines.warehouse import reads

    db = tmp_path / "empty.duckdb"
    with warehouse.writer(db) as con:
        catalog.create_schema(con)
        catalog.apply_models(con)
    for path in sorted(reads.READS_DIR.glob("*.sql")):
        sql = path.read_text()
        params = {p: SAMPLE_PARAMS[p] for p in re.findall(r"\$([a-z_]+)", sql)}
        tables = {name: frame() for name, frame in FRAMES.items() if name in catalog.relations_read(sql)}
        reads.read(db, path.stem, tables=tables, **params)


def test_a_reader_of_a_file_with_another_versions_views_uses_its_own(tmp_path):
    db = tmp_path / "old.duckdb"
    with warehouse.writer(db) as con:
        catalog.create_schema(con)
        catalog.apply_models(con)
        con.execute("insert into fct_address_facts (portal_id, recipient, sends) "
                    "values ('p1', 'a@b.example', 3)")
        # What an older release might have stored: a view this code defines differently.
        con.execute("create or replace view mart_address_facts as select 'stale' as recipient")
        con.execute("update _view_definitions set definition_hash = 'older release'")
    with warehouse.reader(db) as con:
        rows = con.execute("select recipient, sends from mart_address_facts").fetchall()
        assert rows == [("a@b.example", 3)]
    # The file itself is untouched: the next refresh stores the current views.
    with warehouse.writer(db) as con:
        assert con.execute("select recipient from mart_address_facts").fetchall() == [("stale",)]


def test_relations_an_older_version_left_are_dropped_when_the_models_are_applied(tmp_path):
    con = duckdb.connect()
    catalog.create_schema(con)
    # What the release before one name per dataset stored: a view twin and its scoped macro.
    con.execute("create macro int_address_facts_for(scope) as table select 1 as x")
    con.execute("create view int_address_facts as select * from int_address_facts_for(null)")
    catalog.apply_models(con)
    views = {v for (v,) in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    macros = {f for (f,) in con.execute(
        "select function_name from duckdb_functions() where function_type = 'table_macro'").fetchall()}
    assert "int_address_facts" not in views and "int_address_facts_for" not in macros
    assert {m.name for m in catalog.models() if m.kind != "incremental table"} <= views
