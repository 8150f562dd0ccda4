"""Synthesise a large database from a parsed one, in SQL: N disjoint copies of its history.

    .venv/bin/python bench/synth_db.py --base bench/out/pages-1000000.duckdb --factor 10 \
        --out bench/out/synth-10000000.duckdb

Parsing 10 M sends from JSON would take 24 GB of exports and most of an hour; what the incremental
refresh and the reads depend on is the size and shape of the tables, so they are copied instead.
Copy k (k = 1..N-1) of every row gets its own ids: message ids, event keys and user ids end in
`~k`, addresses become `k<k>.<address>` (same domain, so typo and refusing domains stay), portals
and upload batches end in `-k` (so the account has N times the portals, each as busy as before, and
each tree keeps its shape). Copy 0 is the base unchanged. Rows are written in send-date order, as
a feed that arrived over time would leave them. The aggregates (`fct_recipient_outcomes`,
`fct_address_facts`) are copied the same way: the copies share no message, address or portal,
so each copy's aggregate is the base's, renamed. Every other incremental table (the send-day and
per-domain tables, the address search's trigrams) is computed from its model over the copies (the
unattributed mail of every copy shares one row per day and batch). `raw_objects` is copied once,
its files beside the base hard-linked beside the copy (the bytes are only read by `rebuild`); the
manifest is copied N times (its size is what a refresh reads).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines import warehouse  # noqa: E402
from pipelines.warehouse import catalog, raw_store  # noqa: E402

# Per table: the expression each renamed column takes in copy k (`c` is the column, `k` the copy);
# an address key is computed again from its renamed address (the column named).
_ADDRESS = "case when k = 0 or {c} is null then {c} else 'k' || k || '.' || {c} end"
_SUFFIX = "case when k = 0 or {c} is null then {c} else {c} || '{sep}' || k end"
RENAMES = {
    "fct_recipient_events": {"event_key": ("~",), "message_id": ("~",), "recipient": None,
                             "recipient_key": "recipient", "portal_id": ("-",), "upload_batch_id": ("-",)},
    "fct_recipient_outcomes": {"message_key": ("~",), "message_id": ("~",), "recipient": None,
                               "recipient_key": "recipient", "portal_id": ("-",),
                               "upload_batch_id": ("-",)},
    "fct_address_facts": {"portal_id": ("-",), "recipient": None, "recipient_key": "recipient",
                          "upload_batch_id": ("-",), "user_id": ("~",)},
    "dir_portals": {"portal_id": ("-",), "parent_portal_id": ("-",)},
    "dir_users": {"user_id": ("~",), "portal_id": ("-",), "email": None, "upload_batch_id": ("-",)},
    "dir_batches": {"batch_id": ("-",), "portal_id": ("-",)},
    "_ingest_objects": {"object_key": ("~",)},
}
ORDER = {"fct_recipient_events": "sent_date, k", "fct_recipient_outcomes": "sent_date, k",
         "dir_users": "email"}
ONCE = ("raw_objects", "_loads", "_quarantine", "_directory_loads", "_aggregate_definitions")


def _select(con, table: str, factor: int) -> str:
    columns = [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'base' "
        "and table_name = ? order by ordinal_position", [table]).fetchall()]
    exprs = []
    for c in columns:
        if c not in RENAMES[table]:
            exprs.append(c)
        elif RENAMES[table][c] is None:
            exprs.append(_ADDRESS.format(c=c) + f" as {c}")
        elif isinstance(RENAMES[table][c], str):  # the key of the renamed address in that column
            exprs.append(f"address_key({_ADDRESS.format(c=RENAMES[table][c])}) as {c}")
        else:
            exprs.append(_SUFFIX.format(c=c, sep=RENAMES[table][c][0]) + f" as {c}")
    order = f" order by {ORDER[table]}" if table in ORDER else ""
    return (f"select {', '.join(exprs)} from base.{table}, range({factor}) as r(k){order}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="a database built by a refresh")
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    for leftover in (args.out, args.out.with_name(args.out.name + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(raw_store.folder(args.out), ignore_errors=True)  # hard links of an earlier build's objects
    started = time.monotonic()
    with warehouse.writer(args.out) as con:
        catalog.create_schema(con)
        catalog.apply_models(con)  # the incremental tables are created from their models
        con.execute("attach ? as base (read_only)", [str(args.base)])
        # A base from before the address history existed: compute it there first, in this file.
        if not con.execute("select count(*) from information_schema.tables where table_catalog = 'base' "
                           "and table_name = 'fct_address_facts'").fetchall()[0][0]:
            raise SystemExit(f"{args.base} has no fct_address_facts: run one refresh on it first")
        for table in RENAMES:
            t = time.monotonic()
            con.execute(f"insert into {table} by name {_select(con, table, args.factor)}")
            print(f"{table}: {con.execute(f'select count(*) from {table}').fetchall()[0][0]:,} rows "
                  f"({time.monotonic() - t:.1f} s)", flush=True)
        for table in ONCE:
            con.execute(f"insert into {table} select * from base.{table}")
        shutil.copytree(raw_store.folder(args.base), raw_store.folder(args.out), copy_function=os.link,
                        dirs_exist_ok=True)
        # Every other incremental table, in model order: one left empty while its model is not would
        # make the first refresh rebuild them all (commit.aggregates_stale) and the reads of it cheap.
        for model in catalog.incremental_tables():
            if model.name not in RENAMES:
                catalog.rebuild_table(con, model)
        con.execute("detach base")
        catalog.apply_models(con)
    print(f"{args.out}: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
