"""Query latency: every read function behind every page, p50/p95 over N runs, on one database.

    .venv/bin/python bench/bench_reads.py --db bench/out/pages-1000000.duckdb
    .venv/bin/python bench/bench_reads.py --db bench/out/synth-10000000.duckdb --runs 20

Each call opens its own short-lived reader, as a page call does (`@page_data`), so the figures include
opening the file. Portal-scoped reads use the portal with the most sends (alone) and the root of
the largest portal tree (rolled up); the address lookup searches for a real address. The export
line is `export.bounced_addresses` over every portal plus the CSV encoding, with its row count.
The reference line is `select count(*) from fct_recipient_events` on the same reader: a plain scan
of the largest table, so ratios say how much work a read does beyond touching the history once.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from inspect import unwrap
from pathlib import Path
from types import SimpleNamespace

import streamlit
import streamlit.logger

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# The page-data functions are Streamlit-cached; outside `streamlit run` each would warn at import that
# there is no runtime. The benchmark calls the undecorated functions, so the warning says nothing.
streamlit.logger.set_log_level("error")

from pipelines import warehouse  # noqa: E402
from pipelines.dashboard import cache as page_cache  # noqa: E402
from pipelines.dashboard import data as page_data  # noqa: E402
from pipelines.reports import brief, export, metrics, presend  # noqa: E402
from pipelines.warehouse import reads  # noqa: E402

# The page-data functions without their reader and cache: each takes the connection first.
app_reads = SimpleNamespace(**{k: unwrap(v) if callable(v) else v for k, v in vars(page_data).items()})


def _targets(db: Path) -> dict:
    with warehouse.reader(db) as con:
        biggest = con.execute(
            "select portal_id from fct_recipient_outcomes where portal_id is not null "
            "group by all order by count(*) desc, portal_id limit 1").fetchall()[0][0]
        root = con.execute(
            "select t.root_portal_id from dim_portal_tree as t join fct_recipient_outcomes as o "
            "on o.portal_id = t.portal_id group by all order by count(*) desc, 1 limit 1").fetchall()[0][0]
        address = con.execute(
            "select recipient from fct_recipient_outcomes where portal_id = ? and hard_bounced "
            "order by recipient limit 1", [biggest]).fetchall()[0][0]
        batch = con.execute(
            "select upload_batch_id from fct_recipient_outcomes where portal_id = ? and hard_bounced "
            "and upload_batch_id is not null group by all order by count(*) desc, 1 limit 1",
            [biggest]).fetchall()[0][0]
        planned = [r[0] for r in con.execute(
            "select distinct recipient from fct_recipient_outcomes where portal_id = ? order by 1 limit 500",
            [biggest]).fetchall()]
        every = [r[0] for r in con.execute(
            "select distinct portal_id from fct_recipient_outcomes where portal_id is not null").fetchall()]
    return {"portal": biggest, "root": root, "address": address, "batch": batch, "planned": planned,
            "every": every}


def _calls(t: dict) -> list[tuple[str, str, Callable]]:
    p, root = t["portal"], t["root"]
    calls: list[tuple[str, str, Callable]] = [
        ("reference", "count(*) over fct_recipient_events",
         lambda con: con.sql("select count(*) from fct_recipient_events").fetchall()),
        ("Overview", "account_overview", lambda con: app_reads.account_overview(con, window_days=30)),
        ("Overview", "portals_by_status", app_reads.portals_by_status),
        ("Overview", "recent_alerts", app_reads.recent_alerts),
        ("Overview", "freshness", app_reads.freshness),
        ("Overview", "event_counts", app_reads.event_counts),
        ("Portal", "portal_options", app_reads.portal_options),
        ("Portal", "portal_summary", lambda con: app_reads.portal_summary(con, p)),
        ("Portal", "portal_summary (roll-up)", lambda con: app_reads.portal_summary(con, root, rollup=True)),
        ("Portal", "forecast_sentence", lambda con: app_reads.forecast_sentence(con, p)),
        ("Portal", "portal_causes", lambda con: app_reads.portal_causes(con, p)),
        ("Portal", "portal_causes (roll-up)", lambda con: app_reads.portal_causes(con, root, rollup=True)),
        ("Portal", "bounced", lambda con: app_reads.bounced(con, p)),
        ("Portal", "bounced (roll-up)", lambda con: app_reads.bounced(con, root, rollup=True)),
    ]
    for dimension in app_reads.BREAKDOWNS:
        calls.append(("Portal", f"breakdown {dimension}",
                      lambda con, d=dimension: app_reads.breakdown(con, d, p)))
    calls += [
        ("Domains", "domain_ranking (account)", lambda con: app_reads.domain_ranking(con)),
        ("Domains", "domain_ranking", lambda con: app_reads.domain_ranking(con, p)),
        ("Domains", "domain_typos (account)", lambda con: app_reads.domain_typos(con)),
        ("Domains", "rejecting_domains (account)", lambda con: app_reads.rejecting_domains(con)),
        ("Upload batches", "batches (account)", lambda con: app_reads.batches(con)),
        ("Upload batches", "batches", lambda con: app_reads.batches(con, p)),
        ("Upload batches", "batch_bounced", lambda con: app_reads.batch_bounced(con, t["batch"], p)),
        ("Address lookup", "lookup_addresses",
         lambda con: reads.run(con, "lookup_addresses", q=t["address"].split("@")[0])),
        ("Address lookup", "lookup_portals",
         lambda con: reads.run(con, "lookup_portals", address=t["address"])),
        ("Address lookup", "lookup_events",
         lambda con: reads.run(con, "lookup_events", address=t["address"])),
        ("Restore brief", "status_table", metrics.status_table),
        ("Restore brief", "restore_brief", lambda con: brief.restore_brief(con, p)),
        ("Pre-send check", "check (500 addresses)", lambda con: presend.check(con, p, t["planned"])),
        ("Pipeline health", "loads", lambda con: reads.run(con, "loads", limit=200)),
        ("Pipeline health", "quarantine", lambda con: reads.run(con, "quarantine", limit=5000)),
        ("Pipeline health", "unattributed", lambda con: reads.run(con, "unattributed", limit=500)),
        ("Pipeline health", "health_objects_by_status",
         lambda con: reads.run(con, "health_objects_by_status")),
    ]
    return calls


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else xs[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", help="run only the calls whose name contains this text")
    args = parser.parse_args()
    os.environ["BOUNCEDESK_DB"] = str(args.db)  # where a page call inside a read reads
    t = _targets(args.db)
    with warehouse.reader(args.db) as con:
        sends = con.execute("select count(*) from fct_recipient_outcomes where sent").fetchall()[0][0]
        events = con.execute("select count(*) from fct_recipient_events").fetchall()[0][0]
    print(f"{args.db.name}: {sends:,} sends, {events:,} events; portal {t['portal']}, root {t['root']}; "
          f"{args.runs} runs, {os.cpu_count()} cores, {platform.python_version()}")
    rows = []
    for page, name, fn in _calls(t):
        if args.only and args.only not in name:
            continue
        times = []
        for _ in range(args.runs):
            # A page call inside a read (the status table the Overview's list is built on) runs cold,
            # on a reader of its own as in a page run.
            streamlit.cache_data.clear()
            started = time.perf_counter()
            with warehouse.reader(args.db) as con, page_cache.one_reader():
                fn(con)
            times.append(time.perf_counter() - started)
        rows.append({"page": page, "read": name, "p50": statistics.median(times), "p95": _p95(times)})
        print(f"{page:16} {name:34} p50 {rows[-1]['p50'] * 1000:8.1f} ms  "
              f"p95 {rows[-1]['p95'] * 1000:8.1f} ms", flush=True)

    times = []
    for _ in range(max(3, args.runs // 4)):
        started = time.perf_counter()
        with warehouse.reader(args.db) as con:
            every = export.bounced_addresses(con, t["every"])
        body = export.to_csv(every)
        times.append(time.perf_counter() - started)
    print(f"{'Export':16} {'all bounced addresses to CSV':34} p50 {statistics.median(times) * 1000:8.1f} ms"
          f"  ({every.height:,} rows, {len(body) / 1e6:.1f} MB)")
    out = REPO / "bench" / "out" / f"reads-{args.db.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"sends": sends, "events": events, "rows": rows, "export_rows": every.height,
                               "export_p50": statistics.median(times)}, indent=1))


if __name__ == "__main__":
    main()
