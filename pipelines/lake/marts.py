"""`lake marts`: the tables the app reads, recomputed on Spark over the lake's whole history and
written into a DuckDB file the app opens as usual.

Spark recomputes every incremental table (`fct_recipient_outcomes`, then the address facts and the
send-day tables) from its own model in queries/models/ (the SQL the refresh keeps them with, through
the dialect layer) over the lake's events and directory; those and
the tables they were computed from are copied, a chunk of rows at a time, into a
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
from datetime import date
from pathlib import Path

from pipelines import warehouse
from pipelines.lake import spark, spark_sql
from pipelines.warehouse import catalog

# The rows come back through the driver a chunk at a time (CHUNK_ROWS): Spark's default 1 GB driver
# heap runs out on the first chunk of events at 1 M sends.
DRIVER = {"spark.driver.memory": "4g", "spark.driver.maxResultSize": "2g"}

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
    sc = spark.SparkConnection(session or spark.session(master, DRIVER), lake, manifest)
    building = target.with_name(target.name + ".building")
    for leftover in (building, building.with_name(building.name + ".wal")):
        leftover.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    cached = []
    try:
        with warehouse.writer(building) as con:
            catalog.create_schema(con)
            catalog.apply_models(con)  # the views, and the incremental tables empty
            for table in COPIED:
                _say(quiet, f"marts: copying {table} ...")
                rows[table] = _copy(con, sc.spark.table(table), table)
            for m in catalog.incremental_tables():
                _say(quiet, f"marts: computing {m.name} on Spark ...")
                # Computed once, here: the next model reads these rows, not the lake's copy, and not
                # the model's plan again (a cached frame behind a temporary view is not matched inside a
                # later query's plan, which recomputed every model before it each time).
                frame = sc.spark.sql(spark_sql.spark_model(m.name)).localCheckpoint()
                cached.append(frame)
                frame.createOrReplaceTempView(m.name)
                rows[m.name] = _copy(con, frame, m.name, m.order_by)
            catalog.run_script(con, "lake/record_marts.sql", {
                "lake": lake, "load_id": manifest["load_id"], "engine": f"spark {sc.spark.version}",
                # The session's own word for where it ran (Spark Connect has no SparkContext to ask).
                "master": sc.spark.conf.get("spark.master", master or spark.DEFAULT_MASTER),
                "aggregates": catalog.incremental_definitions_hash(),
                "seconds": time.monotonic() - started,
            })
        os.replace(building, target)
    except BaseException:
        for leftover in (building, building.with_name(building.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        if session is None:
            sc.spark.stop()
        else:  # the caller's session goes on: give back the memory the recomputed tables held
            for frame in cached:
                frame.unpersist()
    result = MartsResult(str(target), lake, manifest["load_id"], rows, target.stat().st_size,
                         time.monotonic() - started)
    _say(quiet, f"marts: {target} written from the lake's load {result.load_id} in {result.seconds:.1f} s")
    return result


def _copy(con, frame, table: str, order_by: str | None = None) -> int:
    """A Spark frame's rows into the DuckDB table of the same name, columns matched by name, in chunks
    of at most CHUNK_ROWS by the table's order column (else its send date): the driver holds one chunk
    at a time, and the rows land in that column's order."""
    # Every field nullable, as DuckDB's are: Spark may call a struct's field non-null while a list holds
    # null structs, which its Arrow conversion refuses.
    frame = frame.selectExpr(*(f"cast(`{f.name}` as {f.dataType.simpleString()}) as `{f.name}`"
                               for f in frame.schema.fields))
    by = order_by or ("sent_date" if "sent_date" in frame.columns else None)
    chunks = [frame] if by is None else [
        frame.where(f"`{by}` is null" if values is None else f"`{by}` in ({', '.join(values)})")
        for values in _chunk_values(frame, by)]
    order = f" order by {by}" if by else ""
    rows = 0
    for chunk in chunks:
        arrow = chunk.toArrow()
        con.register("__spark_rows", arrow)
        try:
            con.execute(f"insert into {table} by name select * from __spark_rows{order}")
        finally:
            con.unregister("__spark_rows")
        rows += arrow.num_rows
    return rows


CHUNK_ROWS = 500_000


def _chunk_values(frame, column: str) -> list[list[str] | None]:
    """The column's values as SQL literals, in order, grouped so each group holds at most CHUNK_ROWS
    rows (a value with more is a group of its own); None stands for the rows where it is null."""
    counts = frame.groupBy(column).count().orderBy(column).collect()
    groups: list[list[str] | None] = []
    current: list[str] = []
    size = 0
    for value, n in ((r[0], r[1]) for r in counts if r[0] is not None):
        if current and size + n > CHUNK_ROWS:
            groups.append(current)
            current, size = [], 0
        text = "'" + str(value).replace("'", "''") + "'"
        current.append(f"date{text}" if isinstance(value, date) else text)
        size += n
    if current:
        groups.append(current)
    if any(r[0] is None for r in counts):
        groups.append(None)
    return groups


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
