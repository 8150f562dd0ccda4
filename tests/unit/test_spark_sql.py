"""The Spark dialect layer (pipelines/lake/spark_sql.py) without a JVM: every model and read transpiles
to its golden Spark SQL (tests/fixtures/spark_sql/, so a sqlglot upgrade that changes the output is
seen), the fail-closed walk refuses what it does not know, each `$param` becomes `:param`, and the
Python UDFs equal the DuckDB functions they stand for (on an in-memory DuckDB, no database file).
Spark itself runs the SQL in tests/spark/."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.lake import spark_sql
from pipelines.lake.spark_sql import UnsupportedSql, to_spark
from pipelines.warehouse import catalog
from tests.support import spark_golden

REPO = spark_golden.GOLDEN_DIR.parents[2]
READS = sorted(p.stem for p in spark_sql.READS_DIR.glob("*.sql"))
SPARK_READS = [name for name in READS if name not in spark_sql.DUCKDB_ONLY]
MODELS = [m.name for m in catalog.models()]


def test_sqlglot_is_pinned_exactly_at_the_installed_version():
    pins = re.findall(r"^sqlglot==(\S+)$", (REPO / "requirements.txt").read_text(encoding="utf-8"), re.M)
    assert pins == [sqlglot.__version__]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_transpiles_to_its_golden_spark_sql(name):
    golden = spark_golden.GOLDEN_DIR / "models" / f"{name}.sql"
    assert spark_sql.spark_model(name) == golden.read_text(encoding="utf-8"), (
        f"{name}: the Spark SQL changed; review it, then `python -m tests.support.spark_golden --write`")


@pytest.mark.parametrize("name", SPARK_READS)
def test_every_read_transpiles_to_its_golden_spark_sql(name):
    golden = spark_golden.GOLDEN_DIR / "reads" / f"{name}.sql"
    text = (spark_sql.READS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    assert to_spark(text, name) == golden.read_text(encoding="utf-8"), (
        f"{name}: the Spark SQL changed; review it, then `python -m tests.support.spark_golden --write`")


def test_no_golden_file_is_missing_or_stale():
    assert spark_golden.differences() == []


def test_the_models_for_spark_are_the_views_in_dependency_order():
    from pipelines.lake.export import TABLES

    views = [m.name for m in catalog.models() if m.kind != "incremental table" or m.name not in TABLES]
    assert [name for name, _ in spark_sql.spark_models()] == views
    assert "mart_portal_days" in views and "fct_recipient_outcomes" not in views  # the lake holds that one
    recursive = {name for name, text in spark_sql.spark_models() if "WITH RECURSIVE" in text}
    assert spark_sql.MATERIALISED == recursive == {"dim_portal_tree"}


def test_the_duckdb_only_reads_are_exactly_those_of_the_refresh_bookkeeping():
    from pipelines.lake.export import TABLES

    known = set(TABLES) | set(MODELS) | {"policy_windows", "windows"}  # the frames a caller registers
    beyond = {name: catalog.relations_read((spark_sql.READS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
              - known for name in READS}
    assert {name for name, extra in beyond.items() if extra} == set(spark_sql.DUCKDB_ONLY)
    assert all(extra <= {t for t in extra if t.startswith("_")} for extra in beyond.values())


def _flat(text: str) -> str:
    """Spark SQL on one line: pretty-printing's line breaks and indents as single spaces."""
    return re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", text))


def _outside_strings(text: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.|'')*'", "''", text)


@pytest.mark.parametrize("name", SPARK_READS)
def test_every_parameter_of_a_read_becomes_a_named_marker(name):
    duck = (spark_sql.READS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    spark = _outside_strings(to_spark(duck, name))
    assert "$" not in spark
    markers = set(re.findall(r"(?<![\w:]):([a-z_][a-z0-9_]*)", spark))
    assert markers == set(re.findall(r"\$([a-z_0-9]+)", duck))


def test_the_spark_dialect_layer_never_imports_pyspark():
    code = ("import sys; from pipelines.lake import spark_sql; spark_sql.spark_models(); "
            "spark_sql.spark_reads(); assert 'pyspark' not in sys.modules, 'pyspark imported'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# ---- Fail closed: what the layer has not checked is refused, never emitted. -----------------------

@pytest.mark.parametrize(("sql", "construct"), [
    ("select frobnicate(x) from t", "frobnicate"),                        # a made-up DuckDB function
    ("select list(x) from t", "list(x) without an order by"),             # order arbitrary on both
    ("select first(x) from t", "first(x) without an order by"),
    ("select arg_max(a, b) from t", "without filter (where a is not null)"),
    ("select arg_max(a, b) filter (where b is not null) from t", "without filter (where a is not null)"),
    ("select string_agg(x, ', ') from t", "string_agg without an order by"),
    ("select strftime(timezone('UTC', at), '%Y') from t", None),          # fine: see below
    ("select timezone('UTC', at) from t", "type is not written"),
    ("select timezone('Europe/Paris', cast(at as timestamptz)) from t", "other than a literal 'UTC'"),
    ("select strftime(at, '%j') from t", "strftime directive %j"),
    ("select x from t where x like 'a\\_%'", "LIKE"),
    ("select regexp_extract(x, '\\d+', 0) from t", "regular expression"),
    ("select regexp_extract(x, 'a.b', 0) from t", "regular expression"),
    ("select [1, 2][1]", "Bracket"),
    ("select getvariable('nope')", "SESSION_VARIABLES"),
    ("select x from t where x = ?", "positional parameter"),
    ("select * from a asof left join b on b.t >= a.t", "ASOF join condition"),
    ("select * from a positional join b", "POSITIONAL"),
    ("select unnest(l), unnest(m) from t", "two unnests"),
    ("select sum(x) over (order by y range between 1 preceding and current row) from t", "RANGE"),
    ("select split_part(x, '.', n) from t", "split_part"),
    ("select round(x, n) from t", "round(x, n)"),
    ("select cast(x as hugeint) from t", "type"),
    ("select x + interval 1 month from t", "interval"),
    ("select damerau_levenshtein(a, b / c) from t", "division by what may be 0"),
    ("select * from generate_series(1, 10) as s(i)", "generate_series without a positive literal interval"),
    ("select distinct on (a) a, b from t", "DISTINCT ON"),
    ("select a from t union by name select a from u", "UNION BY NAME"),
    ("select a, count(*) from t group by rollup (a)", "Rollup"),
])
def test_what_is_not_known_to_mean_the_same_is_refused(sql, construct):
    if construct is None:
        assert "DATE_FORMAT(at, 'yyyy')" in to_spark(sql)
        return
    with pytest.raises(UnsupportedSql) as raised:
        to_spark(sql)
    assert construct in raised.value.construct, raised.value


def test_a_refusal_names_the_query_and_the_construct():
    with pytest.raises(UnsupportedSql) as raised:
        to_spark("select x, frobnicate(x) from t", "app_example")
    assert raised.value.construct == "function frobnicate"
    assert raised.value.where.startswith("app_example: FROBNICATE(x)")


# ---- What each rewrite writes (Spark runs them in tests/spark/). -----------------------------------

@pytest.mark.parametrize(("sql", "fragment"), [
    ("select a from t where b = $b", "WHERE b = :b"),
    ("select list(x order by y) from t", "ARRAY_SORT("),
    ("select first(x order by y desc) from t", "TRY_ELEMENT_AT("),
    ("select list_contains(l, x) from t", "ARRAY_POSITION(l, x) > 0"),
    ("select arg_max(a, b) filter (where a is not null) from t", "MAX_BY(a, b) FILTER(WHERE NOT a IS NULL)"),
    ("select any_value(a) from t", "ANY_VALUE(a) IGNORE NULLS"),
    ("select round(x, 2) from t", "DUCKDB_ROUND(x, 2)"),
    ("select cast(round(x, 2) as varchar) from t", "DUCKDB_DOUBLE_TEXT(DUCKDB_ROUND(x, 2))"),
    ("select cast(x as integer) from t", "CAST(BROUND(x) AS INT)"),
    ("select cast(count(*) as integer) from t", "CAST(COUNT(*) AS INT)"),
    ("select left(x, n) from t", "LEFT(x, IF(n < 0, LENGTH(x) + n, n))"),
    ("select strftime(timezone('UTC', at), '%Y-%m-%dT%H:%M:%SZ') from t",
     "dd\\'T\\'HH\\':\\'mm"),  # literal text quoted ('T' is no pattern letter); Spark escapes the quotes
    ("select timezone('UTC', $t::timestamptz)", "CAST(CAST(:t AS TIMESTAMP) AS TIMESTAMP_NTZ)"),
    ("select timezone('UTC', cast(d as timestamp))", "CAST(CAST(d AS TIMESTAMP_NTZ) AS TIMESTAMP)"),
    ("select x - to_days(3), x - to_microseconds(5) from t", "MAKE_DT_INTERVAL(3)"),
    ("select epoch_us(x) from t", "UNIX_MICROS(x)"),
    ("select * from range(1, 4) as s(step)", "RANGE(1, 4) AS s(step)"),
    ("select * from generate_series($a::date, $b::date, interval 1 day) as d(day)", "EXPLODE("),
    ("select getvariable('soft_bounces_before_suppress')", "system.session.soft_bounces_before_suppress"),
    ("select regexp_extract(x, '@([^@]*)$', 1) from t", "'@([^@]*)\\\\z'"),
    ("select a from t order by {'s': a, 'n': b}", "ORDER BY a ASC NULLS LAST, b ASC NULLS LAST"),
    ("select a in (select b from u) as k from t", "WHEN NOT EXISTS("),
    ("select a from t where a not in (select b from u)", "NOT a IN ("),
    ("select a from t where a in (select b from u) or c", "a IN ("),
    ("select string_agg(distinct x, ', ' order by x) from t", "ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(x)), ', ')"),
    ("select string_agg(x, ', ' order by y) from t", "LISTAGG(x, ', ') WITHIN GROUP (ORDER BY y NULLS LAST)"),
    ("select a.t, b.v from a asof left join b on b.k = a.k and b.t <= a.t", "LEAD(t) OVER (PARTITION BY k"),
])
def test_each_rewrite_writes_its_spark_form(sql, fragment):
    assert fragment in _flat(to_spark(sql))


def test_a_ctes_materialisation_hint_is_left_to_spark():
    spark = _flat(to_spark("with a as not materialized (select 1 as x) select * from a"))
    assert spark.startswith("WITH a AS (SELECT 1 AS x") and "MATERIALIZED" not in spark


def test_macros_expand_inline_with_their_arguments_substituted():
    spark = _flat(to_spark("select status_severity(s) as v, window_order(s, n, w) as o from t"))
    assert "CASE s WHEN 'disabled' THEN 4" in spark and "-n AS sent, w AS name" in spark
    scoped = _flat(to_spark("select * from int_address_kinds_for(null)"))
    assert "CAST(NULL AS ARRAY<STRING>) IS NULL" in scoped and ") AS int_address_kinds_for" in scoped
    # A body that is an OR stays one operand beside an AND (sqlglot counts AND and OR as functions).
    beside = _flat(to_spark("select * from t where x and on_send_days(d, null)"))
    assert beside.startswith("SELECT * FROM t WHERE x AND (NULL IS NULL OR (d BETWEEN")
    # Spark's generator lifts a table macro's CTEs beside the caller's: a `final` in both stays two names.
    nested = to_spark("with final as (select * from int_domain_typos_for(null)) select * from final")
    names = re.findall(r"(?:WITH|\),) (\w+) AS \(", nested)
    assert "final" in names and "int_domain_typos_for__final" in names and len(names) == len(set(names))


# ---- The UDFs equal DuckDB's functions. ------------------------------------------------------------

_CHARS = st.sampled_from([*"abcab", "é", "e\u0301", "😀", "ß", "A"])
_WORDS = st.one_of(st.lists(_CHARS, max_size=8).map("".join), st.text(max_size=8), st.none())


@settings(max_examples=400, deadline=None)
@given(_WORDS, _WORDS)
def test_the_damerau_levenshtein_udf_equals_duckdbs(a, b):
    duck = duckdb.execute("select damerau_levenshtein(?::varchar, ?::varchar)", [a, b]).fetchone()[0]
    assert spark_sql.damerau_levenshtein(a, b) == duck


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.floats(), st.integers(-10**6, 10**6).map(lambda i: i / 1000), st.just(2.675)),
       st.integers(0, 8))
def test_the_round_udf_equals_duckdbs_round_of_a_double(x, n):
    duck = duckdb.execute("select round(?::double, ?::integer)", [x, n]).fetchone()[0]
    mine = spark_sql.duckdb_round(x, n)
    assert (math.isnan(duck) and math.isnan(mine)) or repr(mine) == repr(duck), (x, n, duck, mine)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.floats(), st.none()))
def test_the_double_text_udf_equals_duckdbs_cast_to_varchar(x):
    duck = duckdb.execute("select cast(?::double as varchar)", [x]).fetchone()[0]
    assert spark_sql.duckdb_double_text(x) == duck


def test_the_udfs_are_what_the_adapter_registers():
    assert [(name, kind) for name, _fn, kind in spark_sql.UDFS] == [
        ("damerau_levenshtein", "bigint"), ("duckdb_round", "double"), ("duckdb_double_text", "string")]
    assert spark_sql.damerau_levenshtein("CA", "ABC") == 2  # unrestricted, not optimal string alignment
    assert spark_sql.duckdb_round(2.675, 2) == 2.67
