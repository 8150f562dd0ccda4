"""The Spark engine: the lake's tables registered with the schemas its manifest records, the models
created as views in dependency order, and the same reads run by the same Python.

`SparkConnection` is the face of a Spark session that the read side uses of a DuckDB connection:
`sql(text, params=...)` returning something with `.pl()`, and `register` / `unregister` of a polars
frame as a table. So `reports.metrics.status_table(con)` or `reports.export.bounced_addresses(con, …)`
run unchanged on either engine: one SQL source (queries/, turned into Spark SQL by
`pipelines.lake.spark_sql`), one Python, two engines.

Spark is for recomputing over the whole history in batch (`status --engine spark`, `export --engine
spark`, `lake marts`); the app keeps reading DuckDB.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

import polars as pl

from pipelines.lake import spark_sql

DEFAULT_MASTER = "local[2]"
_SET_VARIABLE = re.compile(r"set variable ([a-z_][a-z0-9_]*) = \?", re.IGNORECASE)
# Short jobs over a small lake: two shuffle partitions, no adaptive re-planning, a quick JIT (with room
# for its code: at the quick JIT's default 48 MB code cache a long session filled it, the JIT stopped
# and the JVM then failed inside Spark's event loop); the settings the SQL's meaning depends on (UTC,
# ANSI, instants) are spark_sql.SPARK_CONF.
_SETTINGS = {
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m "
                                     "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}


class EngineError(RuntimeError):
    """Spark cannot be used as asked (no lake manifest, a session not in UTC, pyspark missing)."""


# For lakes of a few thousand rows (the tests): planning and compiling dominate a query there, so
# interpreting is faster than generating code.
TINY_LAKE = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.shuffle.partitions": "1",
}


def session(master: str | None = None, conf: dict[str, str] | None = None):
    """A Spark session: `local[N]` (default local[2]), a cluster's `spark://host:port`, or Spark Connect
    `sc://host:port`, with `conf` on top of ours. Its session time zone must be UTC: 30-day windows in
    another zone move across a daylight-saving change, so any other zone is refused."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is in requirements-dev.txt
        raise EngineError("the Spark engine needs pyspark: pip install -r requirements-dev.txt") from exc
    master = master or os.environ.get("BOUNCEDESK_SPARK_MASTER") or DEFAULT_MASTER
    builder = SparkSession.builder.appName("bouncedesk")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in {**_SETTINGS, **(conf or {}), **spark_sql.SPARK_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not master.startswith("sc://"):
        # Failures reach the caller as exceptions; the JVM's own log would repeat each one at length.
        spark.sparkContext.setLogLevel("OFF")
    for key, value in spark_sql.SPARK_CONF.items():  # a session that already existed gets them too
        spark.conf.set(key, value)
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone != "UTC":
        raise EngineError(f"the Spark session's time zone is {zone}, not UTC: windows would shift")
    return spark


class _Result:
    def __init__(self, frame) -> None:
        self._frame = frame

    def pl(self) -> pl.DataFrame:
        return pl.from_arrow(self._frame.toArrow())

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._frame.toArrow().__arrow_c_stream__(requested_schema)

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self._frame.collect()]


class SparkConnection:
    """The lake at `lake` on `spark`, with the models as temporary views; see the module's docstring."""

    def __init__(self, spark, lake: str, manifest: dict | None = None) -> None:
        self.spark = spark
        self.lake = lake
        for name, fn, return_type in spark_sql.UDFS:
            spark.udf.register(name, fn, return_type)
        # The values the read side hands the SQL (`set variable`, read by `getvariable` in DuckDB):
        # declared before any view reads them, unset (null) as in a fresh DuckDB connection.
        for name, kind in spark_sql.SESSION_VARIABLES.items():
            spark.sql(f"declare or replace variable {name} {kind} default null")
        manifest = manifest or read_manifest(lake)
        for table, spec in manifest["tables"].items():
            _register_table(spark, lake, table, spec)
        for name, text in spark_sql.spark_models():
            spark.sql(f"create or replace temporary view {name} as {text}")
            if name in spark_sql.MATERIALISED:
                # Computed once (e.g. the recursive portal tree), and the view replaced by its rows
                # before any later view reads it: a cached frame is not matched inside another plan.
                spark.table(name).localCheckpoint().createOrReplaceTempView(name)

    def sql(self, text: str, params: dict[str, Any] | None = None) -> _Result:
        return _Result(self.spark.sql(_spark_text(text), args=_args(params)))

    def execute(self, text: str, params: list | dict | None = None) -> _Result:
        """`set variable NAME = ?` (how the read side hands a policy value to the SQL, read back by
        `getvariable`) as a Spark session variable; any other statement as `sql`."""
        setting = _SET_VARIABLE.fullmatch(text.strip())
        if setting:
            if not isinstance(params, list | tuple) or len(params) != 1:
                raise EngineError(f"{text!r} needs exactly one value")
            name = setting.group(1)
            self.spark.sql(f"declare or replace variable {name} = :value", args={"value": params[0]})
            return _Result(self.spark.sql(f"select {name} as value"))
        if params is not None and not isinstance(params, dict):
            raise EngineError("the Spark engine binds named parameters only")
        return self.sql(text, params)

    def register(self, name: str, frame) -> None:
        """`frame`: a polars frame, or anything polars reads as one (`catalog.ArrowStream`)."""
        self.spark.createDataFrame(pl.DataFrame(frame).to_arrow()).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)


def connect(lake: str, master: str | None = None) -> SparkConnection:
    """The lake on Spark; a missing or foreign manifest is an EngineError before any JVM starts."""
    manifest = read_manifest(lake)
    return SparkConnection(session(master), lake, manifest)


@cache
def _spark_text(text: str) -> str:
    return spark_sql.to_spark(text)


def _args(params: dict[str, Any] | None) -> dict[str, Any]:
    return dict(params or {})


def read_manifest(lake: str) -> dict:
    """The lake's `_manifest.json`, read as the export wrote it (a folder or s3://bucket/prefix)."""
    from pipelines.lake.export import open_lake, parse_manifest

    manifest = parse_manifest(open_lake(lake).read_manifest())
    if manifest is None:
        raise EngineError(f"no lake manifest this release reads in {lake}: run `python -m pipelines lake "
                          f"export --to {lake}` first")
    return manifest


def _register_table(spark, lake: str, table: str, spec: dict) -> None:
    """A lake table as a temporary view with the manifest's columns, types and order (Spark would put
    the partition column last and guess types from the files)."""
    location = f"{lake.rstrip('/')}/{table}"
    if location.startswith("s3://"):
        location = "s3a://" + location[5:]
    columns = [(c["name"], spark_type(c["type"])) for c in spec["columns"]]
    if spec.get("partitions") == []:  # nothing exported yet: an empty table of the right shape
        spark.sql(f"create or replace temporary view {table} as select "
                  + ", ".join(f"cast(null as {t}) as `{n}`" for n, t in columns) + " where false")
        return
    frame = spark.read.option("basePath", location).parquet(location)
    frame.createOrReplaceTempView(f"__lake_{table}")
    select = ", ".join(f"cast(`{n}` as {t}) as `{n}`" for n, t in columns)
    spark.sql(f"create or replace temporary view {table} as select {select} from __lake_{table}")


def spark_type(duckdb_type: str) -> str:
    """A DuckDB column type as Spark names it (VARCHAR[] -> array<string>, TIMESTAMP WITH TIME ZONE ->
    timestamp, STRUCT(...) -> struct<...>)."""
    import sqlglot

    return sqlglot.exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")
