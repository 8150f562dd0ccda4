"""The warehouse's catalog: every SQL text under queries/, and applying it to a database.

queries/ holds SQL only, by lifecycle: `ddl/` creates the tables, `stage/` runs in a load's private
staging database, `commit/` inside the commit's transaction, `models/` are the live relations
(one per file, its name the file's stem), `reads/` the queries pages and commands run, and
`macros.sql` the rules every model and read shares. Models are applied in dependency order,
computed from the relations each one reads. A model's header says how it is materialised:

    -- materialised: view
    -- materialised: scoped view (scope varchar[])
    -- materialised: incremental table (scope varchar[]), ordered by portal_id

A scoped model's body reads a parameter `scope` (null: everything); it becomes the table macro
`<name>_for(scope)` so a caller computes it for some keys with the filter inside the table scan,
and `<name>` is the macro over everything. An incremental table is kept equal to its macro by
each commit (queries/commit/refresh_aggregates.sql) and rebuilt whole when its definition changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb
import polars as pl

from pipelines.config import REPO_ROOT

QUERIES_DIR = REPO_ROOT / "queries"
MODELS_DIR = QUERIES_DIR / "models"
# Models are named by layer; a model reads raw tables and models of its own or lower layers.
LAYERS = ("stg", "int", "fct", "dim", "mart")

# The rules of macros.sql that queries/stage/ applies too, in a database of its own.
STAGING_MACROS = ("address_domain",)
_MACRO_NAME = re.compile(r"create or replace macro ([a-z_0-9]+)")

_HEADER = re.compile(
    r"^-- materialised: (view|scoped view|incremental table)"
    r"(?: \(scope (?P<scope>[^)]+(?:\([^)]*\))?)\))?(?:, ordered by (?P<order>[a-z_]+))?\s*$", re.M)


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    kind: str  # view | scoped view | incremental table
    scope_type: str | None  # the SQL type of `scope`, for the scoped kinds
    order_by: str | None  # the column an incremental table is written in order of
    body: str

    @property
    def scoped(self) -> bool:
        return self.kind != "view"

    @property
    def layer(self) -> str:
        return self.name.split("_", 1)[0]

    def everything(self) -> str:
        """The model over every key: its macro with a typed null scope."""
        return f"select * from {self.name}_for(cast(null as {self.scope_type}))"


def sql(path: str) -> str:
    """The text of queries/<path>, e.g. `commit/load.sql`."""
    return (QUERIES_DIR / path).read_text(encoding="utf-8")


def statements(script: str) -> list[str]:
    without_comments = re.sub(r"--[^\n]*", "", script)
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def bound(sql_text: str, params: dict | None) -> dict | None:
    """The parameters a statement names (`$name`); DuckDB refuses unused ones."""
    used = {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", sql_text)}
    return used or None


class ArrowStream:
    """A polars frame as DuckDB reads it through the Arrow PyCapsule stream interface: registering the
    frame itself converts it with pyarrow, whose import costs each process a fifth of a second."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, tables: dict | None) -> Iterator[None]:
    """Frames (polars) a statement reads by name, for as long as it runs."""
    for name, frame in (tables or {}).items():
        con.register(name, ArrowStream(frame))
    try:
        yield
    finally:
        for name in tables or {}:
            con.unregister(name)


def run_script(con: duckdb.DuckDBPyConnection, path: str, params: dict | None = None,
               tables: dict | None = None) -> None:
    """Run each statement of queries/<path>, binding only the parameters it names; `tables` are
    frames the script reads by name."""
    with registered(con, tables):
        for statement in statements(sql(path)):
            con.execute(statement, bound(statement, params))


def create_schema(con: duckdb.DuckDBPyConnection, staging: bool = False) -> None:
    """The live tables; with `staging`, also the tables of a load's private staging database and the
    shared macros its SQL applies (STAGING_MACROS)."""
    for path in ("ddl/schema.sql", "ddl/staging_schema.sql") if staging else ("ddl/schema.sql",):
        for statement in statements(sql(path)):
            con.execute(statement)
    if staging:
        for statement in statements(sql("macros.sql")):
            if _MACRO_NAME.match(statement).group(1) in STAGING_MACROS:
                con.execute(statement)


def _read_model(path: Path) -> Model:
    text = path.read_text(encoding="utf-8")
    header = _HEADER.search(text)
    if header is None:
        raise ValueError(f"{path.name}: a model states how it is materialised ('-- materialised: ...')")
    kind, scope_type = header.group(1), header.group("scope")
    if (kind != "view") != (scope_type is not None):
        raise ValueError(f"{path.name}: a scoped model names its scope's type, a plain view none")
    if path.stem.split("_", 1)[0] not in LAYERS:
        raise ValueError(f"{path.name}: a model's name starts with one of {LAYERS}")
    return Model(path.stem, path, kind, scope_type, header.group("order"), text.strip().rstrip(";"))


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    """An in-memory database for parsing only (a cursor per parse: safe from any thread)."""
    return duckdb.connect()


def relations_read(sql_text: str) -> set[str]:
    """The tables, views and scoped models (`<model>_for(...)`, named by the model) a query reads,
    from DuckDB's own parse tree (`json_serialize_sql`: ordering the models this way costs every
    process a sixth of what a sqlglot parse did at its first read); its own CTEs are not relations."""
    with _parser().cursor() as con:
        tree = json.loads(con.execute("select json_serialize_sql(?)", [sql_text]).fetchone()[0])
    if tree.get("error"):
        raise ValueError(f"not parsed: {tree.get('error_message')}")
    tables, functions, ctes = set(), set(), set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("table_name"):
                tables.add(node["table_name"])
            elif node.get("type") == "TABLE_FUNCTION":
                functions.add(node.get("function", {}).get("function_name", ""))
            for cte in node.get("cte_map", {}).get("map", []):
                ctes.add(cte["key"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return (tables - ctes) | {f.removesuffix("_for") for f in functions if f.endswith("_for")}


def reads_of(model: Model, names: set[str]) -> set[str]:
    """The models among `names` a model reads."""
    return (relations_read(model.body) & names) - {model.name}


@cache
def _model_graph() -> tuple[dict[str, Model], dict[str, set[str]]]:
    """Every model by name, and the models each one reads (parsed once per process)."""
    found = {m.name: m for m in map(_read_model, sorted(MODELS_DIR.glob("*.sql")))}
    return found, {name: reads_of(m, set(found)) for name, m in found.items()}


@cache
def models() -> tuple[Model, ...]:
    """Every model, each after the models it reads (ties by name, so the order is stable)."""
    found, graph = _model_graph()
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered += ready
        sorter.done(*ready)
    return tuple(found[name] for name in ordered)


def model(name: str) -> Model:
    return next(m for m in models() if m.name == name)


def incremental_tables() -> tuple[Model, ...]:
    return tuple(m for m in models() if m.kind == "incremental table")


def apply_models(con: duckdb.DuckDBPyConnection, temp: bool = False) -> list[str]:
    """Create or replace the shared macros and every model; returns the model names in order.

    An incremental table is created (empty) when missing, or when its columns are not its definition's
    (an upgrade); its rows are the commit's to keep.
    `temp=True` creates everything in the connection only, over the file's own tables (a reader of
    a file whose stored models are from another version of this code); otherwise the file records
    which definitions it holds and loses the relations an older version left.
    """
    scope = "temp " if temp else ""
    for statement in statements(sql("macros.sql")):
        con.execute(statement.replace("create or replace macro", f"create or replace {scope}macro", 1))
    names = []
    for m in models():
        if m.scoped:
            con.execute(f"create or replace {scope}macro {m.name}_for(scope) as table\n{m.body}")
        if m.kind == "incremental table":
            if not temp:
                con.execute(f"create table if not exists {m.name} as {m.everything()} limit 0")
                # Columns from an older definition would break the views over it before the commit
                # rebuilds it (its definitions hash differs too, so the commit does).
                if _shape(con, m.name) != _shape(con, f"({m.everything()})"):
                    con.execute(f"create or replace table {m.name} as {m.everything()} limit 0")
        else:
            con.execute(f"create or replace {scope}view {m.name} as\n"
                        f"{m.everything() if m.scoped else m.body}")
        names.append(m.name)
    if not temp:
        _drop_obsolete(con, set(names))
        con.execute("delete from _view_definitions")
        con.execute("insert into _view_definitions values (?, now())", [definitions_hash()])
    return names


def send_day_tables() -> tuple[Model, ...]:
    """The incremental tables kept per UTC day of sending (`scope date[]`)."""
    return tuple(m for m in incremental_tables() if m.scope_type == "date[]")


def refresh_send_days(con: duckdb.DuckDBPyConnection) -> None:
    """Every send-day table's rows of the days in the variable `touched_days` (set by
    queries/commit/refresh_aggregates.sql for a load, by queries/forget/erased_days.sql for an
    erasure) recomputed from its model, so a new such model is kept without being listed here. Its
    rows of those days are the ones its model's scope covers (`on_send_days`, queries/macros.sql)."""
    for m in send_day_tables():
        order = f" order by {m.order_by}" if m.order_by else ""
        con.execute(f"delete from {m.name} where on_send_days(sent_date, getvariable('touched_days'))")
        con.execute(f"insert into {m.name} by name "
                    f"select * from {m.name}_for(getvariable('touched_days')){order}")


def _shape(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    rel = con.sql(f"select * from {relation} limit 0")
    return list(zip(rel.columns, map(str, rel.types), strict=True))


def rebuild_table(con: duckdb.DuckDBPyConnection, m: Model) -> None:
    """An incremental table recomputed whole from its definition (its columns follow the definition)."""
    order = f" order by {m.order_by}" if m.order_by else ""
    con.execute(f"create or replace table {m.name} as {m.everything()}{order}")


def _drop_obsolete(con: duckdb.DuckDBPyConnection, names: set[str]) -> None:
    """Views and macros an older version stored under names this code no longer defines."""
    views = con.execute("select view_name from duckdb_views() where not internal and not temporary "
                        "and database_name = current_database()").fetchall()
    for (view,) in views:
        if view not in names:
            con.execute(f"drop view if exists {view}")
    wanted = {f"{n}_for" for n in names} | set(_MACRO_NAME.findall(sql("macros.sql")))
    macros = con.execute("select distinct function_name from duckdb_functions() where function_type in "
                         "('macro', 'table_macro') and not internal and database_name = current_database()"
                         ).fetchall()
    for (macro,) in macros:
        if macro not in wanted:
            con.execute(f"drop macro if exists {macro}")
            con.execute(f"drop macro table if exists {macro}")


def stage_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """One of a load's staging relations (queries/stage/<name>.sql), kept as a table: each is read
    several times, and each read would parse every JSON record again. A temporary one, dropped once
    the staged facts are built from it: the commit reads only those."""
    body = sql(f"stage/{name}.sql").strip().rstrip(";")
    con.execute(f"create or replace temp table {name} as\n{body}")


@cache
def definitions_hash() -> str:
    """Identifies this code's models, macros and tables; stored with them in the file. The tables are
    in it so that a file whose tables are older than this code reads as not current (`models_current`)
    until a refresh brings them up to date."""
    digest = hashlib.sha256(sql("macros.sql").encode() + sql("ddl/schema.sql").encode())
    for m in models():
        digest.update(m.path.name.encode() + m.body.encode())
    return digest.hexdigest()[:16]


@cache
def incremental_definitions_hash() -> str:
    """Identifies what the incremental tables were built with: their models, every model they read,
    and the shared macros. A change to any of them rebuilds the tables whole."""
    graph = _model_graph()[1]
    needed: set[str] = set()
    todo = [m.name for m in incremental_tables()]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += graph[name]
    digest = hashlib.sha256(sql("macros.sql").encode())
    for m in models():
        if m.name in needed:
            digest.update(m.path.name.encode() + m.body.encode())
    return digest.hexdigest()[:16]


def models_current(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        stored = con.execute(
            "select max_by(definition_hash, applied_at) from _view_definitions").fetchall()[0][0]
    except duckdb.CatalogException:  # a file from before the table existed
        return False
    return stored == definitions_hash()
