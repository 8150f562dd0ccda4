"""`lake marts`: the tables the app reads, recomputed on Spark over the lake's whole history and
written into a DuckDB file the app opens as usual.

Spark recomputes the incremental tables (`fct_recipient_outcomes`, then `fct_address_facts`) from
their own models in queries/models/ (the SQL the refresh keeps them with, through the dialect layer)
over the lake's events and directory; those and the tables they were computed from are written into a
new DuckDB file with this code's schema, models and views, so every page reads it. The file holds no
raw objects and no refresh bookkeeping: it is a serving copy, remade from the lake, never refreshed
(a refresh refuses it: `warehouse.ServingFile`). `_lake_marts` says which lake, which export and
which engine made it.

The file is written aside and swapped in whole (`os.replace`): an app reading the old one keeps
reading it until its next page run, and a failure leaves the old file as it was.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines import warehouse
from pipelines.lake import spark, spark_sql
from pipelines.warehouse import catalog

# Copied from the lake as they are: what the incremental tables are computed from, and what the
# pages read beside them (an address's events, the directory's names).
COPIED = ("fct_recipient_events", "dir_portals", "dir_users", "dir_batches")


@dataclass
class MartsResult:
    target: str
    lake: str
    load_id: int
    rows: dict[str, int]
    bytes: int
    seconds: float

    def line(self) -> str:
        """The one stdout line a scheduler parses."""
        rows = " ".join(f"{table}={n}" for table, n in self.rows.items())
        return (f"marts={self.target} load_id={self.load_id} {rows} bytes={self.bytes} "
                f"seconds={self.seconds:.2f}")


def build_marts(lake: str, target: Path, master: str | None = None, quiet: bool = True,
                session=None) -> MartsResult:
    """Recompute the app's tables from `lake` on Spark into `target`: a session of its own on `master`
    (default local[2]), stopped after, or the caller's `session`, left running."""
    started = time.monotonic()
    manifest = spark.read_manifest(lake)  # no lake: an EngineError before any JVM starts
    if session is None:
        _say(quiet, f"marts: starting Spark ({master or spark.DEFAULT_MASTER}) over {lake} ...")
    sc = spark.SparkConnection(session or spark.session(master), lake, manifest)
    building = target.with_name(target.name + ".building")
    for leftover in (building, building.with_name(building.name + ".wal")):
        leftover.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    try:
        with warehouse.writer(building) as con:
            catalog.create_schema(con)
            catalog.apply_models(con)  # the views, and the incremental tables empty
            for table in COPIED:
                _say(quiet, f"marts: copying {table} ...")
                rows[table] = _copy(con, sc.spark.table(table), table)
            for m in catalog.incremental_tables():
                _say(quiet, f"marts: computing {m.name} on Spark ...")
                frame = sc.spark.sql(spark_sql.spark_model(m.name)).cache()
                # The next model reads this one: the recomputed rows, not the lake's copy.
                frame.createOrReplaceTempView(m.name)
                rows[m.name] = _copy(con, frame, m.name, m.order_by)
            catalog.run_script(con, "lake/record_marts.sql", {
                "lake": lake, "load_id": manifest["load_id"], "engine": f"spark {sc.spark.version}",
                "master": sc.spark.sparkContext.master,
                "aggregates": catalog.incremental_definitions_hash(),
                "seconds": time.monotonic() - started,
            })
        os.replace(building, target)
    except BaseException:
        building.unlink(missing_ok=True)
        raise
    finally:
        if session is None:
            sc.spark.stop()
    result = MartsResult(str(target), lake, manifest["load_id"], rows, target.stat().st_size,
                         time.monotonic() - started)
    _say(quiet, f"marts: {target} written from the lake's load {result.load_id} in {result.seconds:.1f} s")
    return result


def _copy(con, frame, table: str, order_by: str | None = None) -> int:
    """A Spark frame's rows into the DuckDB table of the same name, columns matched by name."""
    # Every field nullable, as DuckDB's are: Spark may call a struct's field non-null while a list holds
    # null structs, which its Arrow conversion refuses.
    rows = frame.selectExpr(*(f"cast(`{f.name}` as {f.dataType.simpleString()}) as `{f.name}`"
                              for f in frame.schema.fields)).toArrow()
    con.register("__spark_rows", rows)
    try:
        order = f" order by {order_by}" if order_by else ""
        con.execute(f"insert into {table} by name select * from __spark_rows{order}")
    finally:
        con.unregister("__spark_rows")
    return rows.num_rows


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
