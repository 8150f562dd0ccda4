"""The Spark dialect layer: the DuckDB SQL of queries/ as Spark SQL, one source for two engines.

`to_spark(sql)` turns one DuckDB query of queries/ (a read, or a model's body) into Spark SQL:

1. parse it with sqlglot (DuckDB dialect; sqlglot is pinned exactly in requirements.txt);
2. expand the DuckDB macros inline: the scalar macros of queries/macros.sql (each argument
   substituted into the body, parenthesised where it needs it) and the table macros
   `<model>_for(scope)` of the scoped models (a subquery of the model's body with `scope` substituted;
   a bare `null` scope typed as the model's scope type);
3. the project's rewrite pass: one small function per construct whose Spark spelling differs or whose
   Spark meaning differs silently, each saying which DuckDB meaning it keeps (`REWRITES`, in order);
4. fail closed: walk the rewritten tree and raise `UnsupportedSql(construct, where)` for any node,
   function, type or interval that is not on the allow-list of things checked to mean the same on
   both engines (`_check`);
5. generate Spark SQL with sqlglot (`$name` parameters are Spark's named markers `:name`, bound by
   `spark.sql(text, args={...})`).

The Spark session must be as `SPARK_CONF` says (session time zone UTC, ANSI on, TIMESTAMP =
TIMESTAMP_LTZ): the rewrites of `timezone('UTC', …)`, `strftime` and casts to date rely on it. The
session variables read by `getvariable` are `SESSION_VARIABLES`, declared (null) before the views are
created; the functions Spark lacks are `UDFS`, registered by the adapter (pipelines/lake/spark.py).
Golden files of every model and read are in tests/fixtures/spark_sql/ (`python -m
tests.support.spark_golden --write` rewrites them), so a sqlglot upgrade that changes the output shows.
Known limits are at the end of this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from pipelines.warehouse import catalog

READS_DIR = catalog.QUERIES_DIR / "reads"

# What the generated SQL assumes of the Spark session (the adapter, pipelines/lake/spark.py, sets them;
# the last two are Spark 4's defaults).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",       # DuckDB's connections are UTC (warehouse/connect.py)
    "spark.sql.ansi.enabled": "true",          # overflow, bad casts, division by zero fail, not null
    "spark.sql.timestampType": "TIMESTAMP_LTZ",  # TIMESTAMP is an instant, as DuckDB's timestamptz
}

# DuckDB `getvariable(name)` -> the Spark session variable `system.session.<name>`, declared with this
# type and a null default before the views are created (DuckDB reads an unset variable as null).
SESSION_VARIABLES = {"soft_bounces_before_suppress": "int"}

# Models the adapter computes once and caches: the recursive portal tree (WITH RECURSIVE re-runs
# its iterations at every read otherwise).
MATERIALISED = frozenset({"dim_portal_tree"})

# Reads of the refresh's own bookkeeping: the lake (pipelines/lake/export.py) holds the facts and the
# directory only, so these run on DuckDB alone. Every other read must transpile.
DUCKDB_ONLY = {
    "actions_addresses": "the feed dates each decision by its load's commit (_loads)",
    "actions_cursor": "the feed's cursor is the newest commit time (_loads)",
    "actions_portals": "portal decisions are the refresh's recorded status changes (_alerts)",
    "alert_delivery": "the delivery state of the alert outbox (_alert_deliveries)",
    "alert_outbox": "the alert outbox of a channel (_alerts, _alert_channels, _alert_deliveries)",
    "app_recent_alerts": "the alerts the newest refresh recorded (_alerts, _alert_deliveries)",
    "channel_health": "the delivery channels' state (_alert_channels, _alert_deliveries)",
    "freshness": "the last refresh and the quarantine count (_loads, _quarantine)",
    "health_objects_by_status": "the manifest of objects read (_ingest_objects)",
    "health_skipped": "the manifest's skipped control messages (_ingest_objects)",
    "last_statuses": "the statuses the last refresh judged (_portal_status)",
    "loads": "the refresh runs (_loads)",
    "quarantine": "the quarantined input (_quarantine)",
    "status_judged": "the last refresh's judgement of every portal (_status_judged)",
    "ses_reputation": "SES's CloudWatch figures as fetched by a refresh (_ses_reputation)",
}


class UnsupportedSql(ValueError):
    """A construct the dialect layer has not checked to mean the same on Spark (it never guesses)."""

    def __init__(self, construct: str, where: str) -> None:
        super().__init__(f"{construct}: not known to mean the same on Spark, in {where}")
        self.construct = construct
        self.where = where


# ---------------------------------------------------------------------------------------------------
# The functions Spark lacks, registered by the adapter as Python UDFs: (name, function, return type).

def _define_damerau_levenshtein() -> Callable[[str | None, str | None], int | None]:
    # Defined inside a function so that Spark ships it by value: a worker runs it without this
    # project or sqlglot installed (a module-level function is pickled as a reference to its module).
    def damerau_levenshtein(a: str | None, b: str | None) -> int | None:
        """DuckDB's `damerau_levenshtein`: the unrestricted Damerau-Levenshtein distance (insertions,
        deletions, substitutions and transpositions of adjacent characters, a substring may be edited
        after a transposition: 'CA' -> 'ABC' is 2) over Unicode code points, case-sensitive, null when
        either side is null (the Lowrance-Wagner algorithm DuckDB implements)."""
        if a is None or b is None:
            return None
        n, m = len(a), len(b)
        if n == 0 or m == 0:
            return n + m
        infinity = n + m
        d = [[0] * (m + 2) for _ in range(n + 2)]
        d[0][0] = infinity
        for i in range(n + 1):
            d[i + 1][0], d[i + 1][1] = infinity, i
        for j in range(m + 1):
            d[0][j + 1], d[1][j + 1] = infinity, j
        last_row: dict[str, int] = {}  # per character, the last row of a where it occurred
        for i in range(1, n + 1):
            last_match_col = 0
            for j in range(1, m + 1):
                i1, j1 = last_row.get(b[j - 1], 0), last_match_col
                cost = 0 if a[i - 1] == b[j - 1] else 1
                if cost == 0:
                    last_match_col = j
                d[i + 1][j + 1] = min(d[i][j] + cost, d[i + 1][j] + 1, d[i][j + 1] + 1,
                                      d[i1][j1] + (i - i1 - 1) + 1 + (j - j1 - 1))
            last_row[a[i - 1]] = i
        return d[n + 1][m + 1]

    return damerau_levenshtein


damerau_levenshtein = _define_damerau_levenshtein()


def _define_duckdb_round() -> Callable[[float | None, int | None], float | None]:
    # Defined inside a function, as damerau_levenshtein: shipped to Spark's workers by value.
    def duckdb_round(x: float | None, n: int | None) -> float | None:
        """DuckDB's round(x, n) of a double: p = x * 10^n in doubles, rounded half away from zero;
        when p lands exactly on a half, the exact product decides (round(2.675, 2) is 2.67: 2.675 is
        stored as 2.67499999…); then divided by 10^n. x itself when that overflows. Spark's round
        rounds the shortest decimal text of x instead (2.68)."""
        import decimal
        import math

        if x is None or n is None:
            return None
        if math.isnan(x) or math.isinf(x):
            return x
        scale = 10.0 ** int(n)
        p = x * scale
        if math.isinf(p):
            return x
        context = decimal.Context(prec=1000)  # exact: a double has fewer than 800 digits
        product = context.multiply(decimal.Decimal(x), decimal.Decimal(scale)) if abs(p) % 1 == 0.5 \
            else decimal.Decimal(p)
        rounded = float(product.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP,
                                         context=context))
        result = rounded / scale
        return x if math.isinf(result) or math.isnan(result) else result

    return duckdb_round


duckdb_round = _define_duckdb_round()


def _define_duckdb_double_text() -> Callable[[float | None], str | None]:
    # Defined inside a function, as damerau_levenshtein: shipped to Spark's workers by value.
    def duckdb_double_text(x: float | None) -> str | None:
        """DuckDB's cast(x as varchar) of a double: the shortest text that reads back as x, as Python's
        repr (1e-05, 15.35, 1e+22; nan, -nan, inf, -inf). Spark writes Java's (1.0E-5, 1.0E22, NaN)."""
        import math

        if x is None:
            return None
        if math.isnan(x):
            return "-nan" if math.copysign(1.0, x) < 0 else "nan"
        if x in (float("inf"), float("-inf")):
            return "inf" if x > 0 else "-inf"
        return repr(x)

    return duckdb_double_text


duckdb_double_text = _define_duckdb_double_text()

UDFS: tuple[tuple[str, Callable, str], ...] = (
    ("damerau_levenshtein", damerau_levenshtein, "bigint"),
    ("duckdb_round", duckdb_round, "double"),
    ("duckdb_double_text", duckdb_double_text, "string"),
)


# ---------------------------------------------------------------------------------------------------
# The public API.

def to_spark(sql: str, name: str | None = None) -> str:
    """One DuckDB query of queries/ (a read, or a model's body) as Spark SQL; `name` says where it came
    from in an `UnsupportedSql`."""
    return _generate(_translate(_parse(sql, name), name or "query"))


def spark_model(name: str) -> str:
    """A model's definition as Spark SQL; a scoped model over every key (its scope a typed null)."""
    m = catalog.model(name)
    tree = _parse(m.body, name)
    if m.scoped:
        tree = _substitute(tree, {"scope": _typed_null(m.scope_type)})
    return _generate(_translate(tree, name))


def spark_models() -> list[tuple[str, str]]:
    """The models Spark creates as views, as (name, Spark SQL), each after the models it reads: every
    view (a scoped one over every key), and each incremental table the lake does not hold (a small
    aggregate of what it holds, e.g. mart_portal_days, computed from its model)."""
    from pipelines.lake.export import TABLES

    return [(m.name, spark_model(m.name)) for m in catalog.models()
            if m.kind != "incremental table" or m.name not in TABLES]


def spark_reads() -> dict[str, str]:
    """Every read of queries/reads/ but those of `DUCKDB_ONLY`, by name, as Spark SQL."""
    return {p.stem: to_spark(p.read_text(encoding="utf-8"), p.stem)
            for p in sorted(READS_DIR.glob("*.sql")) if p.stem not in DUCKDB_ONLY}


# ---------------------------------------------------------------------------------------------------
# Parsing, macros, generating.

def _parse(sql: str, name: str | None) -> exp.Expression:
    try:
        tree = sqlglot.parse_one(sql.strip().rstrip(";"), read="duckdb")
    except sqlglot.ParseError as exc:
        raise UnsupportedSql("SQL sqlglot cannot parse", f"{name or 'query'}: {exc}") from exc
    if not isinstance(tree, exp.Query):
        raise UnsupportedSql(f"{type(tree).__name__} statement (only queries)", name or "query")
    return tree


def _generate(tree: exp.Expression) -> str:
    return tree.sql(dialect="spark", pretty=True, comments=False,
                    unsupported_level=ErrorLevel.RAISE) + "\n"


def _translate(tree: exp.Expression, name: str) -> exp.Expression:
    tree = _expand_macros(tree, _macros(), name)
    for rewrite in REWRITES:
        tree = rewrite(tree, name)
    _check(tree, name)
    return tree


class _Macro:
    def __init__(self, name: str, params: list[str], body: exp.Expression,
                 scope_type: str | None = None) -> None:
        self.name, self.params, self.body, self.scope_type = name, params, body, scope_type

    @property
    def table(self) -> bool:
        return self.scope_type is not None


@cache
def _macros() -> dict[str, _Macro]:
    """The scalar macros of queries/macros.sql and the table macro `<model>_for(scope)` of each scoped
    model, each body already expanded (a macro calls only the macros before it)."""
    macros: dict[str, _Macro] = {}
    for statement in catalog.statements(catalog.sql("macros.sql")):
        create = sqlglot.parse_one(statement, read="duckdb")
        if not (isinstance(create, exp.Create) and create.args.get("kind") == "MACRO"):
            raise UnsupportedSql("a statement of macros.sql that is not a scalar macro", statement[:80])
        name = create.this.this.name.lower()
        if sqlglot.parse_one(f"{name}()", read="duckdb").__class__ is not exp.Anonymous:
            raise UnsupportedSql(f"macro {name} named like a function sqlglot knows", "macros.sql")
        params = [p.name.lower() for p in create.this.expressions]
        macros[name] = _Macro(name, params, _expand_macros(create.expression, macros, f"macro {name}"))
    for m in catalog.models():
        if m.scoped:
            body = _expand_macros(_parse(m.body, m.name), macros, m.name)
            macros[f"{m.name}_for"] = _Macro(f"{m.name}_for", ["scope"], body, m.scope_type)
    return macros


def _typed_null(duckdb_type: str) -> exp.Expression:
    return exp.Cast(this=exp.Null(), to=exp.DataType.build(duckdb_type, dialect="duckdb"))


def _delimited(e: exp.Expression) -> exp.Expression:
    """`e` as an operand: parenthesised unless it delimits itself (a name, literal, call, CASE, cast).
    sqlglot's AND and OR are functions too (`exp.Func`), yet as an operand they need their parentheses."""
    if isinstance(e, exp.Paren) or (
            isinstance(e, exp.Column | exp.Literal | exp.Placeholder | exp.Null | exp.Boolean | exp.Func
                       | exp.Subquery | exp.Array | exp.Struct) and not isinstance(e, exp.Connector)):
        return e
    return exp.Paren(this=e)


def _substitute(body: exp.Expression, values: dict[str, exp.Expression]) -> exp.Expression:
    """A macro's body with each parameter (an unqualified name) replaced by its argument."""
    body = body.copy()
    for column in list(body.find_all(exp.Column)):
        if not column.table and column.name.lower() in values:
            column.replace(_delimited(values[column.name.lower()].copy()))
    return body


def _own_ctes(body: exp.Expression, owner: str) -> exp.Expression:
    """A table macro's body with its CTEs named after it (final -> int_domain_typos__final): Spark's
    generator lifts a subquery's CTEs to the top of the query, where they would meet the caller's."""
    with_ = body.args.get("with_")
    if not with_:
        return body
    names = {cte.alias_or_name.lower(): f"{owner}__{cte.alias_or_name}" for cte in with_.expressions}
    for cte in with_.expressions:
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(names[cte.alias_or_name.lower()])))
    for table in body.find_all(exp.Table):
        old = table.name.lower()
        if old in names and not table.args.get("db") and isinstance(table.this, exp.Identifier):
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(names[old]))
    return body


def _post_order(tree: exp.Expression, visit: Callable[[exp.Expression], exp.Expression | None]
                ) -> exp.Expression:
    """Apply `visit` to every node, children before parents; a node it returns replaces the visited one
    (and is not visited again)."""
    holder = exp.Paren(this=tree)
    for node in reversed(list(tree.dfs())):
        new = visit(node)
        if new is not None and new is not node:
            node.replace(new)
    tree = holder.this
    tree.parent = None
    return tree


def _expand_macros(tree: exp.Expression, macros: dict[str, _Macro], name: str) -> exp.Expression:
    def visit(node: exp.Expression) -> exp.Expression | None:
        if isinstance(node, exp.Anonymous) and node.name.lower() in macros:
            macro = macros[node.name.lower()]
            if macro.table:
                if not (isinstance(node.parent, exp.Table) and node.arg_key == "this"):
                    raise UnsupportedSql(f"table macro {macro.name} outside a FROM", _where(name, node))
                return None
            if len(node.expressions) != len(macro.params):
                raise UnsupportedSql(f"macro {macro.name} with {len(node.expressions)} arguments",
                                     _where(name, node))
            return _delimited(_substitute(macro.body, dict(zip(macro.params, node.expressions,
                                                               strict=True))))
        if (isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous)
                and node.this.name.lower() in macros):
            macro = macros[node.this.name.lower()]
            if len(node.this.expressions) != 1:
                raise UnsupportedSql(f"table macro {macro.name} without exactly one scope",
                                     _where(name, node))
            [scope] = node.this.expressions
            if isinstance(scope, exp.Null):  # a bare null scope: typed, as DuckDB's binder types it
                scope = _typed_null(macro.scope_type)
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(macro.name))
            body = _own_ctes(_substitute(macro.body, {"scope": scope}), macro.name)
            return exp.Subquery(this=body, alias=alias.copy())
        return None

    return _post_order(tree, visit)


def _where(name: str, node: exp.Expression) -> str:
    text = node.sql(dialect="duckdb")
    return f"{name}: {text[:200]}{'…' if len(text) > 200 else ''}"


def _spark(name: str, *args: exp.Expression) -> exp.Anonymous:
    """A Spark function call a rewrite emits (so the fail-closed walk knows it was checked)."""
    call = exp.Anonymous(this=name, expressions=list(args))
    call.meta["spark"] = True
    return call


def _lambda(body: exp.Expression, *params: str) -> exp.Lambda:
    fn = exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])
    fn.meta["spark"] = True
    return fn


def _field(e: exp.Expression, field: str) -> exp.Expression:
    if isinstance(e, exp.Identifier):
        return exp.Column(this=exp.to_identifier(field), table=e.copy())
    return exp.Dot(this=e, expression=exp.to_identifier(field))


def _integer(n: int) -> exp.Literal:
    return exp.Literal.number(n)


# ---------------------------------------------------------------------------------------------------
# The rewrite pass: each function rewrites one construct over the whole tree (children first).

def _parameters(tree: exp.Expression, name: str) -> exp.Expression:
    """`$name` -> `:name`: DuckDB's named parameters are Spark's named parameter markers (sqlglot
    spells a named placeholder so); a positional `?` has no name to bind by, so it is refused."""
    for p in tree.find_all(exp.Placeholder):
        if not p.name or p.name == "?":
            raise UnsupportedSql("a positional parameter (?)", _where(name, p))
    return tree


_STRFTIME = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%f": "SSSSSS"}


def _java_pattern(strftime: str, where: str) -> str:
    """A DuckDB strftime format as a Spark datetime pattern; literal text quoted ('T', 'Z'), which
    sqlglot's own translation leaves unquoted (so Spark reads them as pattern letters)."""
    out, literal = [], []
    for token in re.findall(r"%.|[^%]", strftime):
        if token.startswith("%"):
            if token == "%%":
                literal.append("%")
                continue
            if token not in _STRFTIME:
                raise UnsupportedSql(f"strftime directive {token}", where)
            if literal:
                out.append("'" + "".join(literal).replace("'", "''") + "'")
                literal = []
            out.append(_STRFTIME[token])
        else:
            literal.append(token)
    if literal:
        out.append("'" + "".join(literal).replace("'", "''") + "'")
    return "".join(out)


def _is_utc_timezone(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Anonymous) and node.name.lower() == "timezone"
            and len(node.expressions) == 2 and isinstance(node.expressions[0], exp.Literal)
            and node.expressions[0].is_string and node.expressions[0].this.upper() == "UTC")


def _strftime(tree: exp.Expression, name: str) -> exp.Expression:
    """strftime(x, fmt) -> date_format(x, pattern). DuckDB formats a timestamptz in the session time
    zone (UTC) and a timestamp as it is; so does Spark (session UTC). strftime(timezone('UTC', x), …)
    formats x's UTC wall clock, whichever type x has: date_format(x, …) under a UTC session."""
    def visit(node):
        if not isinstance(node, exp.TimeToStr):
            return None
        fmt = node.args.get("format")
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            raise UnsupportedSql("strftime with a format that is not a literal", _where(name, node))
        value = node.this
        if _is_utc_timezone(value):
            value = value.expressions[1]
        pattern = _java_pattern(fmt.this, _where(name, node))
        return _spark("DATE_FORMAT", value, exp.Literal.string(pattern))
    return _post_order(tree, visit)


def _timestamp_kind(e: exp.Expression) -> str | None:
    """'tz' (DuckDB timestamptz), 'naive' (timestamp) or None (not written in the SQL)."""
    if isinstance(e, exp.Paren):
        return _timestamp_kind(e.this)
    if isinstance(e, exp.Cast):
        if e.to.is_type(exp.DataType.Type.TIMESTAMPTZ):
            return "tz"
        if e.to.is_type(exp.DataType.Type.TIMESTAMPNTZ):
            return "naive"
        return None
    if isinstance(e, exp.Add | exp.Sub) and _is_interval(e.expression):
        return _timestamp_kind(e.this)
    if isinstance(e, exp.Add) and _is_interval(e.this):
        return _timestamp_kind(e.expression)
    if _is_utc_timezone(e):
        inner = _timestamp_kind(e.expressions[1])
        return {"tz": "naive", "naive": "tz"}.get(inner or "")
    return None


def _is_interval(e: exp.Expression) -> bool:
    return (isinstance(e, exp.Interval | exp.ToDays)
            or (isinstance(e, exp.Anonymous) and e.name.lower() in ("to_microseconds", "make_dt_interval")))


def _timezone_utc(tree: exp.Expression, name: str) -> exp.Expression:
    """timezone('UTC', x): of a timestamptz, its UTC wall clock as a timestamp; of a timestamp, the
    instant of that UTC wall clock. Under a UTC session both are Spark's casts between TIMESTAMP (an
    instant) and TIMESTAMP_NTZ. Which one depends on x's type, so x's type must be written in the SQL
    (a cast, or arithmetic on one); a bare column is refused."""
    def visit(node):
        if not (isinstance(node, exp.Anonymous) and node.name.lower() == "timezone"):
            return None
        if not _is_utc_timezone(node):
            raise UnsupportedSql("timezone() to a zone other than a literal 'UTC'", _where(name, node))
        value = node.expressions[1]
        kind = _timestamp_kind(value)
        if kind is None:
            raise UnsupportedSql("timezone('UTC', x) where x's type is not written (cast it)",
                                 _where(name, node))
        to = exp.DataType.Type.TIMESTAMPNTZ if kind == "tz" else exp.DataType.Type.TIMESTAMPTZ
        return exp.Cast(this=value, to=exp.DataType(this=to))
    return _post_order(tree, visit)


def _epoch_us(tree: exp.Expression, name: str) -> exp.Expression:
    """epoch_us(x) -> unix_micros(x): microseconds since 1970-01-01 UTC (a timestamp read as UTC)."""
    def visit(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us":
            if len(node.expressions) != 1:
                raise UnsupportedSql("epoch_us with other than one argument", _where(name, node))
            return _spark("UNIX_MICROS", node.expressions[0])
        return None
    return _post_order(tree, visit)


def _md5_number_lower(tree: exp.Expression, name: str) -> exp.Expression:
    """cast(md5_number_lower(x) >> 1 as bigint) (address_key, queries/macros.sql) ->
    shiftrightunsigned(bigint(conv(<bytes 8..15 of md5(x), last first, in hex>, 16, -10)), 1).
    DuckDB's md5_number_lower is the MD5's last eight bytes read as a little-endian unsigned number;
    conv to base -10 writes the signed 64-bit number of the same bits, which the unsigned shift halves
    as DuckDB's does. Any other use of md5_number_lower stays unchecked, so it is refused."""
    def visit(node):
        if not (isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.BIGINT)
                and isinstance(node.this, exp.BitwiseRightShift)
                and isinstance(node.this.this, exp.Anonymous)
                and node.this.this.name.lower() == "md5_number_lower"
                and node.this.expression == _integer(1) and len(node.this.this.expressions) == 1):
            return None
        digest = _spark("MD5", node.this.this.expressions[0])
        last_first = _spark("CONCAT", *(_spark("SUBSTR", digest.copy(), _integer(at), _integer(2))
                                        for at in range(31, 16, -2)))
        signed = _spark("CONV", last_first, _integer(16), _integer(-10))
        return _spark("SHIFTRIGHTUNSIGNED", _spark("BIGINT", signed), _integer(1))
    return _post_order(tree, visit)


def _trigrams(tree: exp.Expression, name: str) -> exp.Expression:
    """list_transform(range(1, length(x) - 1), lambda i: substring(x, i, 3)) (trigrams, queries/macros.sql)
    -> if(length(x) < 3, array(), transform(sequence(1, length(x) - 2), i -> substring(x, i, 3))): Spark's
    sequence counts down when its end is below its start, DuckDB's range is then empty. A null x gives
    null on both; both count code points. Any other list_transform stays unchecked, so it is refused."""
    def visit(node):
        if not (isinstance(node, exp.Transform) and isinstance(node.this, exp.GenerateSeries)
                and isinstance(node.expression, exp.Lambda) and len(node.expression.expressions) == 1):
            return None
        series, body = node.this, node.expression.this
        i = node.expression.expressions[0]
        end = series.args.get("end")
        if not (series.args.get("is_end_exclusive") and series.args.get("start") == _integer(1)
                and not series.args.get("step") and isinstance(end, exp.Sub) and end.expression == _integer(1)
                and isinstance(end.this, exp.Length) and isinstance(body, exp.Substring)
                and body.this == end.this.this and body.args.get("start") == i
                and body.args.get("length") == _integer(3)):
            return None
        x = end.this.this
        pieces = _spark("TRANSFORM", _spark("SEQUENCE", _integer(1), exp.Sub(
            this=_spark("LENGTH", x.copy()), expression=_integer(2))),
            _lambda(_spark("SUBSTRING", x.copy(), exp.to_identifier(i.name), _integer(3)), i.name))
        short = exp.LT(this=_spark("LENGTH", x.copy()), expression=_integer(3))
        return _spark("IF", short, _spark("ARRAY"), pieces)
    return _post_order(tree, visit)


def _intervals(tree: exp.Expression, name: str) -> exp.Expression:
    """to_days(n) -> make_dt_interval(n); to_microseconds(n) -> make_dt_interval(0, 0, 0, n / 10^6
    as exact decimal seconds). DuckDB adds a day to a timestamptz as a calendar day of the session time
    zone, Spark's day-time interval as 24 hours: the same in UTC."""
    def visit(node):
        if isinstance(node, exp.ToDays):
            return _spark("MAKE_DT_INTERVAL", node.this)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "to_microseconds":
            if len(node.expressions) != 1:
                raise UnsupportedSql("to_microseconds with other than one argument", _where(name, node))
            micros = exp.Cast(this=_delimited(node.expressions[0]),
                              to=exp.DataType.build("decimal(38, 0)"))
            seconds = exp.Div(this=micros, expression=_integer(1_000_000))
            return _spark("MAKE_DT_INTERVAL", _integer(0), _integer(0), _integer(0), seconds)
        return None
    return _post_order(tree, visit)


def _conjuncts(e: exp.Expression) -> list[exp.Expression]:
    if isinstance(e, exp.Paren):
        return _conjuncts(e.this)
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    return [e]


def _arg_max(tree: exp.Expression, name: str) -> exp.Expression:
    """arg_max(a, b) -> max_by(a, b) (sqlglot spells it), only with `filter (where a is not null …)`:
    DuckDB skips the rows where a is null, Spark's max_by returns a null a if its b is the largest;
    the filter, in the source, says DuckDB's meaning so both engines compute it. The same for arg_min."""
    for node in tree.find_all(exp.ArgMax, exp.ArgMin):
        a = node.this
        filtered = node.parent if isinstance(node.parent, exp.Filter) else None
        conditions = _conjuncts(filtered.expression.this) if filtered else []
        if not any(isinstance(c, exp.Not) and isinstance(c.this, exp.Is) and c.this.this == a
                   and isinstance(c.this.expression, exp.Null) for c in conditions):
            raise UnsupportedSql(f"{node.sql_name().lower()}(a, b) without filter (where a is not null)",
                                 _where(name, node))
    return tree


def _any_value(tree: exp.Expression, name: str) -> exp.Expression:
    """any_value(x): DuckDB's skips nulls; sqlglot reads it as any_value(x) IGNORE NULLS, which Spark's
    means too. Refused when not so marked."""
    for node in tree.find_all(exp.AnyValue):
        if not isinstance(node.parent, exp.IgnoreNulls):
            raise UnsupportedSql("any_value that may return a null", _where(name, node))
    return tree


def _comparator(keys: list[exp.Ordered]) -> exp.Expression:
    """A Spark array_sort comparator over structs l, r with fields k0, k1, …: DuckDB's ORDER BY of
    the keys (each ascending or descending, nulls first or last)."""
    ifs = []
    for i, key in enumerate(keys):
        lk, rk = exp.column(f"k{i}", table="l"), exp.column(f"k{i}", table="r")
        before, after = (_integer(1), _integer(-1)) if key.args.get("desc") else (_integer(-1), _integer(1))
        null_l = _integer(-1) if key.args.get("nulls_first") else _integer(1)  # l null, r not
        null_r = _integer(1) if key.args.get("nulls_first") else _integer(-1)  # r null, l not
        l_null, r_null = exp.Is(this=lk, expression=exp.Null()), exp.Is(this=rk, expression=exp.Null())
        ifs += [
            exp.If(this=exp.and_(l_null.copy(), exp.Not(this=r_null.copy())), true=null_l),
            exp.If(this=exp.and_(exp.Not(this=l_null.copy()), r_null.copy()), true=null_r),
            exp.If(this=exp.LT(this=lk.copy(), expression=rk.copy()), true=before),
            exp.If(this=exp.GT(this=lk.copy(), expression=rk.copy()), true=after),
        ]
    return exp.Case(ifs=ifs, default=_integer(0))


def _sorted_collect(value: exp.Expression, keys: list[exp.Ordered],
                    where: exp.Where | None) -> tuple[exp.Expression, exp.Expression]:
    """The group's rows as structs (v: value, k0…: keys), collected and then sorted in DuckDB's ORDER BY
    of `keys`: (collect_list(struct) [filter], array_sort(that, comparator)). A struct is never null, so
    collect_list keeps every row, null values included."""
    fields: list[exp.Expression] = [exp.Literal.string("v"), value]
    for i, key in enumerate(keys):
        fields += [exp.Literal.string(f"k{i}"), key.this]
    collected: exp.Expression = _spark("COLLECT_LIST", _spark("NAMED_STRUCT", *fields))
    if where is not None:
        collected = exp.Filter(this=collected, expression=where)
    return collected, _spark("ARRAY_SORT", collected.copy(), _lambda(_comparator(keys), "l", "r"))


def _ordered_first(tree: exp.Expression, name: str) -> exp.Expression:
    """first(x order by k…) [filter (where c)]: the x of the first row in that order (null when no row);
    Spark has no ordered first: the first element of the group's rows sorted by the keys
    (try_element_at(…, 1).v, null for an empty group). first(x) without an order is refused: which row
    is first is arbitrary on both engines."""
    def visit(node):
        target = node.this if isinstance(node, exp.Filter) else node
        if not isinstance(target, exp.First):
            return None
        if not isinstance(target.this, exp.Order):
            raise UnsupportedSql("first(x) without an order by", _where(name, node))
        if isinstance(node, exp.First) and isinstance(node.parent, exp.Filter):
            return None  # the enclosing filter is visited next
        order = target.this
        where = node.expression if isinstance(node, exp.Filter) else None
        _collected, rows = _sorted_collect(order.this, order.expressions, where)
        return _field(_spark("TRY_ELEMENT_AT", rows, _integer(1)), "v")
    return _post_order(tree, visit)


def _ordered_list(tree: exp.Expression, name: str) -> exp.Expression:
    """list(x order by k…) [filter]: every x (nulls included) in that order, null for no rows. Spark's
    collect_list keeps no order (and drops nulls): transform(array_sort(…), e -> e.v), null when empty.
    list(x) without an order is refused: its order is arbitrary on both engines."""
    def visit(node):
        target = node.this if isinstance(node, exp.Filter) else node
        if not isinstance(target, exp.ArrayAgg):
            return None
        if not isinstance(target.this, exp.Order):
            raise UnsupportedSql("list(x) without an order by", _where(name, node))
        if isinstance(node, exp.ArrayAgg) and isinstance(node.parent, exp.Filter):
            return None
        order = target.this
        where = node.expression if isinstance(node, exp.Filter) else None
        collected, rows = _sorted_collect(order.this, order.expressions, where)
        values = _spark("TRANSFORM", rows, _lambda(_field(exp.to_identifier("e"), "v"), "e"))
        return exp.Case(ifs=[exp.If(this=exp.GT(this=_spark("SIZE", collected), expression=_integer(0)),
                                    true=values)])
    return _post_order(tree, visit)


def _string_agg(tree: exp.Expression, name: str) -> exp.Expression:
    """string_agg(x, sep order by k) -> Spark 4's listagg(x, sep) WITHIN GROUP (ORDER BY k) (sqlglot
    spells it): nulls skipped, null for no rows, on both. string_agg(distinct x, sep order by x) -> the
    sorted set of values joined (Spark's planner fails on a distinct listagg beside other distinct
    aggregates): array_join(array_sort(collect_set(x)), sep), null when there is none. Without an order
    by it is refused: the text would list the values in an arbitrary order on both engines."""
    def visit(node):
        target = node.this if isinstance(node, exp.Filter) else node
        if not isinstance(target, exp.GroupConcat):
            return None
        if not isinstance(target.this, exp.Order):
            raise UnsupportedSql("string_agg without an order by", _where(name, node))
        separator = target.args.get("separator")
        if not (isinstance(separator, exp.Literal) and separator.is_string):
            raise UnsupportedSql("string_agg with a separator that is not a literal", _where(name, node))
        value = target.this.this
        if not isinstance(value, exp.Distinct):
            return None
        if isinstance(node, exp.GroupConcat) and isinstance(node.parent, exp.Filter):
            return None
        [x] = value.expressions
        keys = target.this.expressions
        if len(keys) != 1 or keys[0].this != x or keys[0].args.get("desc"):
            raise UnsupportedSql("string_agg(distinct x …) ordered other than by x ascending",
                                 _where(name, node))
        values: exp.Expression = _spark("COLLECT_SET", x)
        if isinstance(node, exp.Filter):
            values = exp.Filter(this=values, expression=node.expression)
        joined = _spark("ARRAY_JOIN", _spark("ARRAY_SORT", values.copy()), separator)
        return exp.Case(ifs=[exp.If(this=exp.GT(this=_spark("SIZE", values), expression=_integer(0)),
                                    true=joined)])
    return _post_order(tree, visit)


def _struct_sort_keys(tree: exp.Expression, name: str) -> exp.Expression:
    """ORDER BY a struct literal ({'a': x, 'b': y}, e.g. window_order): DuckDB sorts field by field,
    a null field after every value (ascending); Spark sorts a null field first. The struct's fields as
    the keys, each NULLS LAST ascending (NULLS FIRST descending), keep DuckDB's order."""
    def visit(node):
        if not isinstance(node, exp.Ordered):
            return None
        key = node.this
        while isinstance(key, exp.Paren):
            key = key.this
        if not isinstance(key, exp.Struct):
            return None
        desc = bool(node.args.get("desc"))
        parent = node.parent
        index = next(i for i, e in enumerate(parent.expressions) if e is node)
        fields = [f.expression if isinstance(f, exp.PropertyEQ) else f for f in key.expressions]
        keys = [exp.Ordered(this=f.copy(), desc=desc, nulls_first=desc) for f in fields]
        parent.set("expressions", parent.expressions[:index] + keys + parent.expressions[index + 1:])
        return None
    return _post_order(tree, visit)


def _list_contains(tree: exp.Expression, name: str) -> exp.Expression:
    """list_contains(l, x) -> array_position(l, x) > 0. DuckDB: null for a null list or x, else true or
    false, a null element never making it null; Spark's array_contains gives null when x is missing
    and l holds a null, array_position 0."""
    def visit(node):
        if isinstance(node, exp.ArrayContains):
            return exp.Paren(this=exp.GT(this=_spark("ARRAY_POSITION", node.this, node.expression),
                                         expression=_integer(0)))
        return None
    return _post_order(tree, visit)


def _filter_position(node: exp.Expression, conjunct_only: bool = False) -> bool:
    """Whether a predicate's null and false mean the same where it stands: under AND/OR (AND only with
    `conjunct_only`) up to a WHERE, HAVING, QUALIFY, JOIN … ON or CASE WHEN condition."""
    child, parent = node, node.parent
    while isinstance(parent, exp.Paren | exp.And) or (isinstance(parent, exp.Or) and not conjunct_only):
        child, parent = parent, parent.parent
    if conjunct_only:
        return isinstance(parent, exp.Where) and not isinstance(parent.parent, exp.Filter)
    if isinstance(parent, exp.Where | exp.Having | exp.Qualify):
        return True
    if isinstance(parent, exp.Join) and child.arg_key == "on":
        return True
    return isinstance(parent, exp.If) and child.arg_key == "this" and isinstance(parent.parent, exp.Case)


def _in_subquery(tree: exp.Expression, name: str) -> exp.Expression:
    """x IN (subquery): DuckDB is three-valued (null when x is null, or no row matches and one is null);
    Spark's gives false there. Where null and false mean the same (a filter, a CASE WHEN), it stays;
    `NOT IN` stays only as a WHERE conjunct (Spark's null-aware anti join, three-valued). Elsewhere it is
    spelled out: CASE WHEN x IN (q) THEN true WHEN NOT EXISTS (q) THEN false WHEN x IS NULL THEN null
    WHEN EXISTS (a null in q) THEN null ELSE false END."""
    def visit(node):
        if not (isinstance(node, exp.In) and node.args.get("query") is not None):
            return None
        outer = node.parent if isinstance(node.parent, exp.Not) else None
        if outer is None and _filter_position(node):
            return None
        if outer is not None and _filter_position(outer, conjunct_only=True):
            return None
        query = node.args["query"]
        select = query.this if isinstance(query, exp.Subquery) else query
        x = node.this
        nulls = (exp.select(_integer(1))
                 .from_(exp.Subquery(this=select.copy(),
                                     alias=exp.TableAlias(this=exp.to_identifier("in_q"),
                                                          columns=[exp.to_identifier("c")])))
                 .where(exp.Is(this=exp.column("c", table="in_q"), expression=exp.Null())))
        return exp.Paren(this=exp.Case(ifs=[
            exp.If(this=exp.In(this=x.copy(), query=exp.Subquery(this=select.copy())), true=exp.true()),
            exp.If(this=exp.Not(this=exp.Exists(this=select.copy())), true=exp.false()),
            exp.If(this=exp.Is(this=_delimited(x.copy()), expression=exp.Null()), true=exp.Null()),
            exp.If(this=exp.Exists(this=nulls), true=exp.Null()),
        ], default=exp.false()))
    return _post_order(tree, visit)


def _round(tree: exp.Expression, name: str) -> exp.Expression:
    """round(x, n), n >= 1, of a double: DuckDB rounds x * 10^n (a half decided by the exact product),
    Spark the shortest decimal text of x (round(2.675, 2): DuckDB 2.67, Spark 2.68), so it is the UDF
    duckdb_round(x, n). round(x) and round(x, 0) stay (Spark's equals DuckDB's for a double: half away
    from zero), as does a decimal or an integer x (rounded exactly, half away from zero, on both)."""
    def visit(node):
        if not isinstance(node, exp.Round):
            return None
        decimals = node.args.get("decimals")
        if decimals is None:
            return None
        if not (isinstance(decimals, exp.Literal) and not decimals.is_string
                and decimals.this.isdigit()):
            raise UnsupportedSql("round(x, n) with n not a literal integer >= 0", _where(name, node))
        if int(decimals.this) == 0 or _numeric_kind(node.this) in ("decimal", "int"):
            return None
        return _spark("duckdb_round", node.this, decimals)
    return _post_order(tree, visit)


def _double_text(tree: exp.Expression, name: str) -> exp.Expression:
    """cast(x as varchar) of a double (written so: a double literal or cast, a division, a rounding):
    DuckDB writes the shortest text (1e-05), Spark Java's (1.0E-5): the UDF duckdb_double_text(x).
    Of any other type the text is the same on both (the project casts integers and text)."""
    def visit(node):
        if (isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES)
                and _numeric_kind(node.this) == "double"):
            return _spark("duckdb_double_text", node.this)
        return None
    return _post_order(tree, visit)


def _left(tree: exp.Expression, name: str) -> exp.Expression:
    """left(s, n): DuckDB's with a negative n is all but the last -n characters, Spark's is ''. A
    literal n >= 0 stays; otherwise left(s, if(n < 0, length(s) + n, n))."""
    def visit(node):
        if not isinstance(node, exp.Left) or node.meta.get("spark"):
            return None
        n = node.expression
        if isinstance(n, exp.Literal) and not n.is_string and n.this.isdigit():
            return None
        fixed = _spark("IF", exp.LT(this=_delimited(n.copy()), expression=_integer(0)),
                       exp.Add(this=exp.Length(this=node.this.copy()), expression=_delimited(n.copy())),
                       n.copy())
        new = exp.Left(this=node.this, expression=fixed)
        new.meta["spark"] = True
        return new
    return _post_order(tree, visit)


_INTEGER_TYPES = (exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                  exp.DataType.Type.BIGINT)


def _numeric_kind(e: exp.Expression) -> str | None:
    """'int', 'decimal', 'double', 'string' or None (not written in the SQL: a column, a parameter)."""
    if isinstance(e, exp.Paren | exp.Neg):
        return _numeric_kind(e.this)
    if isinstance(e, exp.Literal):
        if e.is_string:
            return "string"
        text = e.this.lower()
        return "double" if "e" in text else "decimal" if "." in text else "int"
    if isinstance(e, exp.Cast):
        if e.to.is_type(*_INTEGER_TYPES):
            return "int"
        if e.to.is_type(exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
            return "double"
        if e.to.is_type(exp.DataType.Type.DECIMAL):
            return "decimal"
        if e.to.is_type(*exp.DataType.TEXT_TYPES):
            return "string"
        return None
    if isinstance(e, exp.Count | exp.RowNumber | exp.Length | exp.StrPosition):
        return "int"
    if isinstance(e, exp.Anonymous) and e.meta.get("spark") and e.name == "duckdb_round":
        return "double"
    if isinstance(e, exp.Sum | exp.Min | exp.Max | exp.Abs):
        return _numeric_kind(e.this)
    if isinstance(e, exp.Window):
        return _numeric_kind(e.this)
    if isinstance(e, exp.Add | exp.Sub | exp.Mul):
        return _combine([_numeric_kind(e.this), _numeric_kind(e.expression)])
    if isinstance(e, exp.Coalesce | exp.Greatest | exp.Least):
        return _combine([_numeric_kind(a) for a in [e.this, *e.expressions]])
    if isinstance(e, exp.Div):
        return "double" if _numeric_kind(e.this) in ("int", "double") else None
    return None


def _combine(kinds: list[str | None]) -> str | None:
    if "double" in kinds:
        return "double"
    if None in kinds or "string" in kinds:
        return None
    return "decimal" if "decimal" in kinds else "int"


def _integer_casts(tree: exp.Expression, name: str) -> exp.Expression:
    """cast(x as integer/bigint): DuckDB rounds a double half to even (2.5 -> 2, 3.5 -> 4) and a decimal
    half away from zero; Spark truncates both. An integer x stays; a decimal x is rounded first
    (round); any other number, a double or a column or parameter whose type is not written, is rounded
    half to even (bround, which leaves an integer unchanged). The project has no decimal columns."""
    def visit(node):
        if not (isinstance(node, exp.Cast) and node.to.is_type(*_INTEGER_TYPES)):
            return None
        kind = _numeric_kind(node.this)
        if kind in ("int", "string") or isinstance(node.this, exp.Null):
            return None
        rounding = "ROUND" if kind == "decimal" else "BROUND"
        return exp.Cast(this=_spark(rounding, node.this), to=node.to)
    return _post_order(tree, visit)


def _asof_joins(tree: exp.Expression, name: str) -> exp.Expression:
    """`asof left join r on r.e = l.e … and r.k <= x`: each left row with the right row of the largest
    k <= x (among rows with equal e; one of them when several share that k), or nulls. Spark has no
    ASOF join: a left join to r's rows, one per (e, k), each with the next k of its e
    (lead(k)), matching where k <= x < next k (or no next k). `<` works alike; a right key that the
    right side does not name, or any other condition, is refused."""
    def visit(node):
        if not (isinstance(node, exp.Join) and (node.args.get("method") or "").upper() == "ASOF"):
            return None
        where = _where(name, node)
        if (node.args.get("side") or "").upper() != "LEFT" or not isinstance(node.this, exp.Table):
            raise UnsupportedSql("an ASOF join other than ASOF LEFT JOIN of a named relation", where)
        right = node.this
        alias = right.alias_or_name
        equal, inequality = [], None
        for c in _conjuncts(node.args["on"]):
            sides = [c.this, c.expression] if isinstance(c, exp.Binary) else []
            mine = [s for s in sides if isinstance(s, exp.Column) and s.table == alias]
            if isinstance(c, exp.EQ) and len(mine) == 1:
                equal.append(c)
            elif isinstance(c, exp.LTE | exp.LT) and isinstance(c.this, exp.Column) and c.this.table == alias:
                inequality = inequality or (c.this, c.expression, isinstance(c, exp.LT))
                if inequality[0] is not c.this:
                    raise UnsupportedSql("an ASOF join with two inequalities", where)
            elif isinstance(c, exp.GTE | exp.GT) and isinstance(c.expression, exp.Column) \
                    and c.expression.table == alias:
                inequality = inequality or (c.expression, c.this, isinstance(c, exp.GT))
                if inequality[0] is not c.expression:
                    raise UnsupportedSql("an ASOF join with two inequalities", where)
            else:
                raise UnsupportedSql("an ASOF join condition other than r.col = … and r.key <= …", where)
        if inequality is None:
            raise UnsupportedSql("an ASOF join without an inequality", where)
        select = node.parent
        for star in select.expressions if isinstance(select, exp.Select) else []:
            if isinstance(star, exp.Star) or (isinstance(star, exp.Column) and isinstance(star.this, exp.Star)
                                              and star.table == alias):
                raise UnsupportedSql(f"* over an ASOF join's right side {alias}", where)
        key, bound, strict = inequality
        partition = [next(s for s in (c.this, c.expression) if isinstance(s, exp.Column)
                          and s.table == alias) for c in equal]
        inner_partition = [exp.column(p.name) for p in partition]
        relation = exp.Table(this=right.this.copy(), db=right.args.get("db"),
                             catalog=right.args.get("catalog"))
        ties = exp.Window(this=exp.RowNumber(), partition_by=[*inner_partition, exp.column(key.name)],
                          order=exp.Order(expressions=[exp.Ordered(this=exp.column(key.name))]))
        distinct_keys = (exp.select(exp.Star(), exp.alias_(ties, "asof_tie")).from_(relation)
                         .where(exp.Not(this=exp.Is(this=exp.column(key.name), expression=exp.Null()))))
        following = exp.Window(this=_spark("LEAD", exp.column(key.name)),
                               partition_by=[p.copy() for p in inner_partition],
                               order=exp.Order(expressions=[exp.Ordered(this=exp.column(key.name))]))
        star_but_tie = exp.Star(**{"except": [exp.column("asof_tie")]})
        ranged = (exp.select(star_but_tie, exp.alias_(following, "asof_next"))
                  .from_(exp.Subquery(this=distinct_keys, alias=exp.TableAlias(this=exp.to_identifier("t"))))
                  .where(exp.EQ(this=exp.column("asof_tie"), expression=_integer(1))))
        upper = exp.column("asof_next", table=alias)
        beyond = (exp.GTE if strict else exp.GT)(this=upper, expression=_delimited(bound.copy()))
        within = (exp.LT if strict else exp.LTE)(this=key.copy(), expression=_delimited(bound.copy()))
        on = exp.and_(*[c.copy() for c in equal], within,
                      exp.Paren(this=exp.or_(exp.Is(this=upper.copy(), expression=exp.Null()), beyond)))
        return exp.Join(this=exp.Subquery(this=ranged, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                        side="LEFT", on=on)
    return _post_order(tree, visit)


def _positive_literal_interval(e: exp.Expression | None) -> bool:
    return (isinstance(e, exp.Interval) and isinstance(e.this, exp.Literal)
            and re.fullmatch(r"[1-9][0-9]*", e.this.this or "") is not None
            and e.text("unit").upper() in _INTERVAL_UNITS)


def _series(tree: exp.Expression, name: str) -> exp.Expression:
    """FROM range(a, b) AS s(c) -> Spark's range(a, b) AS s(c): a..b-1, none when b <= a (sqlglot
    mangles the alias). FROM generate_series(s, e, interval) AS d(c) -> explode(sequence(s, e, step)) in
    a subquery: s..e inclusive, as timestamps; none when e < s (Spark's sequence fails there) or either
    is null. A step must be a positive literal interval."""
    def visit(node):
        if not (isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries)):
            return None
        series, where = node.this, _where(name, node)
        alias = node.args.get("alias")
        if alias is None or len(alias.columns) != 1:
            raise UnsupportedSql("a series without an alias naming its one column", where)
        start, end, step = series.args["start"], series.args["end"], series.args.get("step")
        if series.args.get("is_end_exclusive"):
            if step is not None and not (isinstance(step, exp.Literal) and step.this.isdigit()
                                         and int(step.this) > 0):
                raise UnsupportedSql("range with a step that is not a positive literal", where)
            return exp.Table(this=_spark("RANGE", start, end, *([step] if step is not None else [])),
                             alias=alias)
        if not _positive_literal_interval(step):
            raise UnsupportedSql("generate_series without a positive literal interval step", where)
        kind = _timestamp_kind(start) if _timestamp_kind(start) else (
            "naive" if isinstance(start, exp.Cast) and start.to.is_type(exp.DataType.Type.DATE) else None)
        if kind is None:
            raise UnsupportedSql("generate_series of values whose type is not written (cast them)", where)
        to = exp.DataType.build("timestamp" if kind == "naive" else "timestamptz", dialect="duckdb")
        values = _spark("SEQUENCE", exp.Cast(this=start.copy(), to=to.copy()),
                        exp.Cast(this=end.copy(), to=to.copy()), step)
        guarded = exp.Case(ifs=[exp.If(this=exp.LTE(this=start, expression=end), true=values)])
        column = alias.columns[0]
        select = exp.select(exp.alias_(exp.Explode(this=guarded), column.copy()))
        return exp.Subquery(this=select, alias=exp.TableAlias(this=alias.this.copy()))
    return _post_order(tree, visit)


def _getvariable(tree: exp.Expression, name: str) -> exp.Expression:
    """getvariable('x') -> system.session.x, a Spark session variable declared null (SESSION_VARIABLES),
    so an unset variable reads null as in DuckDB; a variable not listed there is refused."""
    def visit(node):
        if not (isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable"):
            return None
        [arg] = node.expressions or [None]
        if not (isinstance(arg, exp.Literal) and arg.is_string and arg.this in SESSION_VARIABLES):
            raise UnsupportedSql("getvariable of a variable not in SESSION_VARIABLES", _where(name, node))
        column = exp.Column(this=exp.to_identifier(arg.this), table=exp.to_identifier("session"),
                            db=exp.to_identifier("system"))
        column.meta["spark"] = True
        return column
    return _post_order(tree, visit)


# The regular expressions checked to mean the same under RE2 (DuckDB) and java.util.regex (Spark):
# literal characters, classes of literal characters and ranges, groups, * + ? | and the anchors ^ at
# the start and $ at the end. No '.', no escapes, no {n}, no (?...), no nested classes or '&&'.
_REGEX_ATOM = r"(?:[^\\.^$*+?()\[\]{}|]|\[\^?(?:[^\\\[\]&]|&(?!&))+\]|[()|*+?])"
_REGEX = re.compile(rf"\^?{_REGEX_ATOM}*\$?")


def _regexp(tree: exp.Expression, name: str) -> exp.Expression:
    """regexp_extract(s, pattern, group): a literal pattern of the checked subset, its final $ written
    \\z (RE2's $ is the end of the text; Java's also matches before a final line break)."""
    def visit(node):
        if not isinstance(node, exp.RegexpExtract):
            return None
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and _REGEX.fullmatch(pattern.this)):
            raise UnsupportedSql("a regular expression outside the checked subset", _where(name, node))
        if pattern.this.endswith("$"):
            node.set("expression", exp.Literal.string(pattern.this[:-1] + "\\z"))
        group = node.args.get("group")
        if not (isinstance(group, exp.Literal) and group.this.isdigit()):
            raise UnsupportedSql("regexp_extract without a literal group", _where(name, node))
        return None
    return _post_order(tree, visit)


def _cte_hints(tree: exp.Expression, name: str) -> exp.Expression:
    """`AS [NOT] MATERIALIZED`: a plan hint to DuckDB, the same rows either way; Spark's parser has no
    such clause and plans CTEs itself."""
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)
    return tree


REWRITES: tuple[Callable[[exp.Expression, str], exp.Expression], ...] = (
    _cte_hints, _parameters, _strftime, _timezone_utc, _epoch_us, _md5_number_lower, _trigrams, _intervals,
    _arg_max, _any_value, _ordered_first, _ordered_list, _string_agg, _struct_sort_keys, _list_contains,
    _in_subquery, _round, _double_text, _left, _integer_casts, _asof_joins, _series, _getvariable, _regexp,
)


# ---------------------------------------------------------------------------------------------------
# Fail closed: every node of the rewritten tree is of a kind checked to mean the same on both engines.

_SAME = {
    # Queries: CTEs (recursive too), joins, set operations, grouping (GROUP BY ALL), QUALIFY, windows.
    exp.Select, exp.Union, exp.With, exp.CTE, exp.Subquery, exp.From, exp.Join, exp.Where, exp.Group,
    exp.Having, exp.Qualify, exp.Order, exp.Ordered, exp.Limit, exp.Distinct, exp.Values, exp.Tuple,
    exp.Table, exp.TableAlias, exp.Alias, exp.Column, exp.Identifier, exp.Star, exp.Window,
    exp.WindowSpec, exp.Var, exp.DataType, exp.Paren, exp.Placeholder, exp.Literal, exp.Null,
    exp.Boolean, exp.Interval, exp.Exists, exp.In, exp.Dot,
    # Predicates and arithmetic (null-propagating alike; Spark's ANSI mode fails where DuckDB does, and
    # on a division by zero, which the SQL guards with nullif).
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.Is,
    exp.Between, exp.Like, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.DPipe,
    exp.Case, exp.If, exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least, exp.Cast,
    # Aggregates and window functions (count/sum/min/max/bool_or skip nulls alike; the rewrites above
    # settle arg_max, any_value, first, list and string_agg).
    exp.Count, exp.Sum, exp.Min, exp.Max, exp.LogicalOr, exp.ArgMax, exp.ArgMin, exp.AnyValue,
    exp.IgnoreNulls, exp.Filter, exp.RowNumber, exp.GroupConcat,
    # Scalars: same results over code points (length, left, position, split_part, trim of spaces or of a
    # set of characters, contains); abs and round of the rewrite; struct and array literals.
    exp.Abs, exp.Round, exp.Length, exp.Left, exp.StrPosition, exp.SplitPart, exp.Trim, exp.Contains,
    exp.Lower, exp.RegexpExtract, exp.Struct, exp.PropertyEQ, exp.StructExtract, exp.Array, exp.Explode,
    exp.ArrayMin, exp.ArrayMax,  # list_min / list_max: both skip null elements, null for an empty list
    exp.ColumnDef, exp.DataTypeParam,  # a field of a struct type, a decimal's precision
}
_ANONYMOUS = {name for name, _fn, _type in UDFS}
_INTERVAL_UNITS = {"DAY", "HOUR", "MINUTE", "SECOND", "MICROSECOND"}
_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.INT,
          exp.DataType.Type.BIGINT, exp.DataType.Type.DOUBLE, exp.DataType.Type.BOOLEAN,
          exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMPTZ,
          exp.DataType.Type.ARRAY, exp.DataType.Type.STRUCT, exp.DataType.Type.DECIMAL}


def _nonzero_literal(e: exp.Expression | None) -> bool:
    """A literal integer other than 0 (split_part's index: DuckDB gives '' for 0, Spark fails)."""
    if isinstance(e, exp.Neg):
        e = e.this
    return isinstance(e, exp.Literal) and not e.is_string and e.this.isdigit() and int(e.this) != 0


def _guarded(div: exp.Div) -> bool:
    """A division that cannot be by zero: by nullif(…, 0) or by a literal other than 0."""
    d = div.expression
    while isinstance(d, exp.Paren):
        d = d.this
    if isinstance(d, exp.Nullif):
        zero = d.expression
        return isinstance(zero, exp.Literal) and not zero.is_string and zero.this == "0"
    return isinstance(d, exp.Literal) and not d.is_string and float(d.this) != 0


def _check(tree: exp.Expression, name: str) -> None:
    udfs = {n for n, _fn, _type in UDFS}
    for call in tree.find_all(exp.Anonymous):
        # Spark computes a Python UDF's arguments for every row, before a CASE picks its branch: a
        # division there must not be by zero where DuckDB would never have computed it.
        if call.name.lower() in udfs:
            for div in call.find_all(exp.Div):
                if not _guarded(div):
                    raise UnsupportedSql(f"a division by what may be 0 in the arguments of {call.name}",
                                         _where(name, call))
    for node in tree.walk():
        if node.meta.get("spark"):
            continue
        kind = type(node)
        where = _where(name, node)
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in _ANONYMOUS:
                raise UnsupportedSql(f"function {node.name}", where)
            continue
        if kind not in _SAME:
            raise UnsupportedSql(f"{kind.__name__} ({node.key})", where)
        if isinstance(node, exp.Join) and (node.args.get("method") or (node.args.get("kind") or "INNER")
                                           .upper() not in ("INNER", "OUTER", "CROSS")):
            raise UnsupportedSql(f"a {node.args.get('method') or node.args.get('kind')} join", where)
        if isinstance(node, exp.Distinct) and node.args.get("on") is not None:
            raise UnsupportedSql("DISTINCT ON", where)
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            raise UnsupportedSql("UNION BY NAME", where)
        if isinstance(node, exp.IgnoreNulls) and not isinstance(node.this, exp.AnyValue):
            raise UnsupportedSql("IGNORE NULLS other than any_value's", where)
        if isinstance(node, exp.DataType) and node.this not in _TYPES:
            raise UnsupportedSql(f"type {node.sql(dialect='duckdb')}", where)
        if isinstance(node, exp.Interval) and not (
                isinstance(node.this, exp.Literal) and node.text("unit").upper() in _INTERVAL_UNITS):
            raise UnsupportedSql("an interval other than a literal count of days to microseconds", where)
        if isinstance(node, exp.Like) and not (isinstance(node.expression, exp.Literal)
                                               and "\\" not in node.expression.this
                                               and not node.args.get("escape")):
            # Spark's LIKE escapes with a backslash by default, DuckDB's has no escape.
            raise UnsupportedSql("LIKE with a pattern that is not a literal without backslashes", where)
        if isinstance(node, exp.WindowSpec) and (node.args.get("kind") or "ROWS").upper() != "ROWS":
            raise UnsupportedSql("a RANGE or GROUPS window frame", where)
        if isinstance(node, exp.Explode) and not (
                isinstance(node.parent, exp.Select)
                or (isinstance(node.parent, exp.Alias) and isinstance(node.parent.parent, exp.Select))):
            raise UnsupportedSql("unnest other than as a selected column", where)
        if isinstance(node, exp.Select) and sum(
                isinstance(e.unalias(), exp.Explode) for e in node.expressions) > 1:
            raise UnsupportedSql("two unnests in one select (DuckDB zips them)", where)
        if isinstance(node, exp.SplitPart) and not _nonzero_literal(node.args.get("part_index")):
            raise UnsupportedSql("split_part with an index that is not a non-zero literal", where)
        if isinstance(node, exp.Trim) and node.args.get("expression") is not None and \
                node.args.get("position") not in (None, "LEADING", "TRAILING", "BOTH"):
            raise UnsupportedSql("trim of a kind not checked", where)


# Known limits (checked, and not rewritten):
# - lower(x): DuckDB maps each code point alone (İ -> i); Spark lower-cases as Java does (İ -> i̇,
#   a final Σ -> ς). The same for every address the loader stores, which it lower-cases itself.
# - cast(x as varchar) of a double the SQL does not show to be one (a column): Spark writes 1.0E-5
#   where DuckDB writes 1e-05 (the project casts only integers, text and rounded rates to text).
# - a division by zero: DuckDB gives inf or NaN, Spark (ANSI) fails; the SQL divides by nullif(…, 0).
# - ordering by a struct-typed column (not a literal) would still sort a null field differently.
