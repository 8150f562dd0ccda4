"""`python -m pipelines <command>`: the one command line schedulers and people use.

Exit codes: 0 done; 1 failed, nothing published; 2 usage error; 75 another refresh holds the
lock (try again later; nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import config as config_mod
from pipelines.reports.policy import load_policy
from pipelines.warehouse.connect import DatabaseOutdated

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="bouncedesk: load SES bounce data into DuckDB and report on it.",
        epilog="Database: --db PATH, else $BOUNCEDESK_DB, else data/bouncedesk.duckdb.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser(
        "refresh",
        help="load whatever is new from the sources (idempotent; safe under cron)",
        description=(
            "Load new SES exports (local folder, s3://bucket/prefix, sqs://queue or a queue URL) "
            "and directory CSVs, in one transaction. Objects already loaded are skipped; the "
            "same event arriving twice counts once; bad records are quarantined, never fatal."
        ),
        epilog=(
            "Prints progress on stderr and one key=value summary line on stdout. Exit codes: 0 done "
            "(also when nothing was new), 1 failed and nothing published, 2 usage error, 75 another "
            "refresh is running (nothing changed)."
        ),
    )
    r.add_argument("--source", action="append", default=[], metavar="SRC",
                   help="folder, s3://bucket/prefix, sqs://queue-name or queue URL (repeatable)")
    r.add_argument("--config", metavar="FILE.toml", help="TOML file listing sources, directory, tag names")
    r.add_argument("--directory", metavar="DIR", help="folder with portals.csv, users.csv, batches.csv")
    r.add_argument("--db", metavar="PATH", help="database file")
    r.add_argument("--policy", metavar="FILE.toml",
                   help="status policy for the alerts (default: pipelines/policy_default.toml)")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a running refresh to finish (default: exit at once)")
    r.add_argument("--memory-limit", metavar="SIZE",
                   help="DuckDB's working memory, e.g. 1GB or 512MB; past it, it spills to disk "
                        "(default: the config's memory_limit, else 1GB)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    st = sub.add_parser(
        "status",
        help="each portal's bounce and complaint rates and status (ok/approaching/exceeded/disabled)",
        description=(
            "Judge every portal, alone and rolled up with its sub-portals, by the policy's windows "
            "ending at --as-of (default: the newest event). With --policy, replay a proposed policy "
            "over the loaded data before adopting it."
        ),
    )
    st.add_argument("--db", metavar="PATH", help="database file")
    st.add_argument("--as-of", metavar="ISO", help="judge as of this time (UTC), e.g. 2026-11-01T00:00Z")
    st.add_argument("--window-days", type=int, metavar="N", help="override every policy window's length")
    st.add_argument("--policy", metavar="FILE.toml",
                    help="policy file (default: pipelines/policy_default.toml)")
    st.add_argument("--json", action="store_true", help="JSON (a list of objects) instead of a table")
    st.add_argument("--timeline", action="store_true",
                    help="day-by-day status per portal from --since to --until (replay a policy)")
    st.add_argument("--since", metavar="YYYY-MM-DD", help="first day of --timeline (default: 30 days back)")
    st.add_argument("--until", metavar="YYYY-MM-DD", help="last day of --timeline (default: the as-of day)")
    st.add_argument("--portal", action="append", metavar="ID", help="only these portals (timeline)")
    st.add_argument("--changes", action="store_true", help="with --timeline: only the days status changed")

    pj = sub.add_parser(
        "project",
        help="would a planned send push a portal past the cutoff? when will it recover?",
        description=(
            "Project a planned send of N addresses with an expected hard-bounce share onto the "
            "portal's policy windows, and forecast when its rate falls back under the warning level "
            "or, at the current trend, crosses the cutoff."
        ),
    )
    pj.add_argument("--portal", required=True, metavar="ID")
    pj.add_argument("--sends", type=int, default=0, metavar="N", help="planned sends")
    pj.add_argument("--share", type=float, default=0.0, metavar="P",
                    help="expected hard-bounce share of the planned sends, 0..1")
    pj.add_argument("--with-subportals", action="store_true", help="judge the portal rolled up")
    pj.add_argument("--as-of", metavar="ISO", help="judge as of this time (default: newest event)")
    pj.add_argument("--policy", metavar="FILE.toml", help="policy file")
    pj.add_argument("--db", metavar="PATH", help="database file")
    pj.add_argument("--json", action="store_true", help="JSON instead of text")

    c = sub.add_parser(
        "classify",
        help="explain bounce mails: recipient, hard or soft, reason (changes no database)",
        description=(
            "Parse bounce mails (.eml, mbox, maildir, or folders of these) and print, for each "
            "bounced recipient: file, recipient, bounce (hard|soft), reason, status, diagnostic."
        ),
    )
    c.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    c.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")

    fg = sub.add_parser(
        "forget",
        help="erase one address from every table and raw object (a privacy request)",
        description=(
            "Remove an address from the facts, the directory snapshot, quarantine excerpts and the "
            "raw objects kept as received; record the erasure (time and counts, not the address)."
        ),
    )
    fg.add_argument("address", metavar="ADDRESS")
    fg.add_argument("--db", metavar="PATH", help="database file")

    rb = sub.add_parser(
        "rebuild",
        help="rebuild every fact from the raw objects the database keeps",
        description=(
            "Re-parse every object the database holds as received (raw_objects) into a new file "
            "and swap it in whole: for a changed view or parsing rule. Readers keep the old file "
            "until the swap; the directory snapshot is carried over."
        ),
    )
    rb.add_argument("--db", metavar="PATH", help="database file")
    rb.add_argument("--memory-limit", metavar="SIZE", default=config_mod.RefreshConfig.memory_limit,
                    help="DuckDB's working memory, e.g. 1GB; past it, DuckDB spills to disk "
                         "(default %(default)s)")
    rb.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    d = sub.add_parser(
        "demo",
        help="generate the realistic demo data set and load it",
        description=(
            "Write ~60 days of SES exports (Firehose layout, gzip, concatenated records) and LMS "
            "directory CSVs for ~50 portals to data/demo/, then load them into a fresh database."
        ),
    )
    d.add_argument("--sends", type=int, default=100_000, help="number of messages sent (default 100000)")
    d.add_argument("--portals", type=int, default=50, help="number of portals (default 50)")
    d.add_argument("--days", type=int, default=60, help="days of history (default 60)")
    d.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    d.add_argument("--out", metavar="DIR", help="where to write the exports (default data/demo)")
    d.add_argument("--db", metavar="PATH", help="database file (replaced)")
    d.add_argument("--no-load", action="store_true", help="only write the files")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    x = sub.add_parser(
        "export",
        help="write a customer CSV: the bounced addresses of a portal (and its sub-portals)",
        description=(
            "Write the bounced-address list of the given portal(s) as CSV a customer can open in "
            "Excel (UTF-8 with BOM; cells that would run as formulas are neutralised): learner name, "
            "email, portal, account status, hard/soft, reason, diagnostic, first and last bounce "
            "(UTC), count, upload batch, recommended action. Holds nothing from any other portal."
        ),
        epilog="Prints `rows=N out=FILE portals=...` on stdout. Exit codes: 0 written (also when "
               "nothing bounced: a header-only file), 1 failed, 2 usage error or unknown portal id.",
    )
    x.add_argument("what", choices=("bounced",), help="which export: bounced = the bounced-address list")
    x.add_argument("--portal", action="append", required=True, metavar="ID",
                   help="portal id (repeatable); `python -m pipelines status` lists them")
    x.add_argument("--with-subportals", action="store_true",
                   help="also every portal below the given ones, at any depth")
    x.add_argument("--since", metavar="ISO",
                   help="only addresses whose last bounce is at or after this (UTC)")
    x.add_argument("--kind", choices=("hard", "soft", "all"), default="all", help="default: all")
    x.add_argument("--policy", metavar="FILE.toml",
                   help="policy file for the recommended action (default: pipelines/policy_default.toml)")
    x.add_argument("--db", metavar="PATH", help="database file")
    x.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the CSV")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "refresh":
            return cmd_refresh(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "rebuild":
            return cmd_rebuild(args)
        if args.command == "classify":
            return cmd_classify(args)
        if args.command == "status":
            return cmd_timeline(args) if args.timeline else cmd_status(args)
        if args.command == "project":
            return cmd_project(args)
        if args.command == "forget":
            return cmd_forget(args)
        if args.command == "export":
            return cmd_export(args)
    except KeyboardInterrupt:
        print("interrupted; nothing was published by the unfinished step", file=sys.stderr)
        return EXIT_FAILED
    except DatabaseOutdated as exc:
        return _fail(str(exc))
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_refresh(args: argparse.Namespace) -> int:
    from pipelines.ingest.refresh import refresh
    from pipelines.ingest.sources import open_source
    from pipelines.warehouse import RefreshLocked
    from pipelines.warehouse.connect import DatabaseBusy

    cfg = config_mod.RefreshConfig()
    try:
        if args.config:
            cfg = config_mod.load_config(args.config)
        specs = args.source or cfg.sources
        directory = args.directory or cfg.directory
        if not specs and not directory:
            return _fail("nothing to load: give --source (repeatable), --directory or --config",
                         EXIT_USAGE)
        sources = [open_source(s) for s in specs]
        policy = load_policy(args.policy) if args.policy else None
        memory_limit = config_mod.memory_size(args.memory_limit or cfg.memory_limit)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    db = config_mod.resolve_db_path(args.db)
    try:
        summary = refresh(
            db, sources, Path(directory) if directory else None, cfg.attribution,
            cfg.max_object_bytes, wait_seconds=args.wait, quiet=args.quiet, policy=policy,
            memory_limit=memory_limit,
        )
    except RefreshLocked as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except DatabaseBusy as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except Exception as exc:  # one line for the scheduler's log, not a traceback
        return _fail(f"refresh failed, nothing published: {type(exc).__name__}: {exc}")
    for a in summary.alert_rows:
        rate = "" if a["hard_rate"] is None else f"{a['hard_rate']:.4f}"
        print(f"alert portal_id={a['portal_id']} scope={a['scope']} from={a['from_status'] or 'new'} "
              f"to={a['to_status']} hard_rate={rate} sent={a['sent']}")
    print(summary.line())
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import build as demo

    db = config_mod.resolve_db_path(args.db)
    out = Path(args.out) if args.out else config_mod.REPO_ROOT / "data" / "demo"
    try:
        summary = demo.build_demo(
            out, db, sends=args.sends, portals=args.portals, days=args.days, seed=args.seed,
            load=not args.no_load, quiet=args.quiet,
        )
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        return _fail(f"demo failed: {type(exc).__name__}: {exc}")
    if summary is not None:
        print(summary.line())
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from pipelines.ingest.refresh import rebuild
    from pipelines.warehouse import RefreshLocked

    db = config_mod.resolve_db_path(args.db)
    try:
        summary = rebuild(db, quiet=args.quiet, memory_limit=config_mod.memory_size(args.memory_limit))
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except FileNotFoundError as exc:
        return _fail(f"{exc}; nothing to rebuild", EXIT_USAGE)
    except RefreshLocked as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except Exception as exc:
        return _fail(f"rebuild failed, the database is unchanged: {type(exc).__name__}: {exc}")
    print(summary.line())
    return EXIT_OK


CLASSIFY_FIELDS = ("file", "recipient", "bounce", "reason", "status", "diagnostic")


def cmd_classify(args: argparse.Namespace) -> int:
    import json

    from pipelines.bounces import dsn

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return _fail(f"no such file or folder: {', '.join(missing)}", EXIT_USAGE)
    rows, unreadable = [], []
    for path in args.paths:
        for name, index, data in dsn.iter_mails(path):
            label = str(Path(path) / name) if name and Path(path).is_dir() else path
            label = f"{label}#{index}" if index else label
            result = dsn.parse(data)
            if not result.recipients:
                unreadable.append((label, result.problem or "no bounced recipient found"))
            for r in result.recipients:
                rows.append(dict(zip(CLASSIFY_FIELDS, (
                    label, r.recipient, r.verdict.bounce, r.verdict.reason, r.verdict.status or "",
                    r.diagnostic or "",
                ), strict=True)))
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        widths = {f: max([len(f)] + [len(str(r[f])) for r in rows]) for f in CLASSIFY_FIELDS[:-1]}
        print("  ".join(f.ljust(widths[f]) for f in CLASSIFY_FIELDS[:-1]) + "  diagnostic")
        for r in rows:
            print("  ".join(str(r[f]).ljust(widths[f]) for f in CLASSIFY_FIELDS[:-1]) + "  "
                  + r["diagnostic"][:160])
    for label, problem in unreadable:
        print(f"note: {label}: {problem}", file=sys.stderr)
    return EXIT_OK


STATUS_FIELDS = (
    "portal_id", "name", "parent_portal_id", "sent", "hard_bounced", "hard_rate", "soft_bounced",
    "complaints", "complaint_rate", "status", "rollup_sent", "rollup_hard_bounced", "rollup_hard_rate",
    "rollup_status", "why",
)


def _parse_time(value: str | None):
    from datetime import UTC, datetime

    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from pipelines.reports import metrics
    from pipelines.warehouse.connect import DatabaseBusy, DatabaseMissing

    try:
        policy = load_policy(args.policy)
        as_of = _parse_time(args.as_of)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    db = config_mod.resolve_db_path(args.db)
    try:
        table = metrics.read_status(db, policy, as_of, args.window_days)
    except DatabaseMissing:
        return _fail(f"no database at {db}: run `python -m pipelines demo` or "
                     "`python -m pipelines refresh`", EXIT_USAGE)
    except DatabaseBusy as exc:
        return _fail(str(exc), EXIT_LOCKED)
    rows = table.select(*STATUS_FIELDS).to_dicts()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return EXIT_OK
    order = {"disabled": 0, "exceeded": 1, "approaching": 2, "ok": 3, "insufficient_volume": 4}
    rows.sort(key=lambda r: (order.get(r["status"], 9), -(r["hard_rate"] or 0)))

    def pct(v):
        return "" if v is None else f"{v * 100:.2f}%"

    head = ("portal", "status", "sent", "hard", "hard rate", "complaint", "rollup status", "rollup rate",
            "name", "why")
    body = [(r["portal_id"], r["status"], f"{r['sent']:,}", f"{r['hard_bounced']:,}", pct(r["hard_rate"]),
             pct(r["complaint_rate"]), r["rollup_status"] or "", pct(r["rollup_hard_rate"]), r["name"] or "",
             r["why"]) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for b in body:
        print("  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import duckdb

    from pipelines import warehouse
    from pipelines.reports import export
    from pipelines.reports.policy import load_policy

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            return _fail(f"--since {args.since!r} is not an ISO 8601 date or time, e.g. 2026-11-01T00:00Z",
                         EXIT_USAGE)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    try:
        policy = load_policy(args.policy) if args.policy else None
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    db = config_mod.resolve_db_path(args.db)
    out = Path(args.out)
    try:
        with warehouse.reader(db) as con:
            covered = export.scope(con, args.portal, args.with_subportals).portals
            df = export.bounced_addresses(con, args.portal, args.with_subportals, since, args.kind,
                                          policy=policy)
    except warehouse.DatabaseMissing as exc:
        return _fail(f"{exc}; load one first (python -m pipelines refresh, or demo)", EXIT_USAGE)
    except warehouse.DatabaseBusy as exc:
        return _fail(str(exc), EXIT_LOCKED)
    except ValueError as exc:  # an unknown portal id (export.UnknownPortal) or an empty one
        return _fail(str(exc), EXIT_USAGE)
    except duckdb.CatalogException as exc:
        return _fail(f"the database lacks a view this export reads ({str(exc).splitlines()[0]}); "
                     "apply the current views with `python -m pipelines rebuild`")
    try:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(export.to_csv(df))
        tmp.replace(out)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}", EXIT_USAGE)
    print(f"rows={df.height} out={out} portals={','.join(covered)}")
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    from datetime import date, timedelta

    from pipelines import warehouse
    from pipelines.reports import metrics, projection

    db = config_mod.resolve_db_path(args.db)
    try:
        policy = load_policy(args.policy)
        with warehouse.reader(db) as con:
            as_of = _parse_time(args.as_of) or metrics.default_as_of(con)
            last_day = as_of.date() if as_of else date.today()
            until = date.fromisoformat(args.until) if args.until else last_day
            since = date.fromisoformat(args.since) if args.since else until - timedelta(days=30)
            timeline = projection.status_timeline(con, policy, since, until, args.portal)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except warehouse.DatabaseMissing:
        return _fail(f"no database at {db}: run `python -m pipelines demo` first", EXIT_USAGE)
    frame = projection.status_changes(timeline) if args.changes else timeline
    if args.json:
        print(frame.write_json())
    else:
        print(frame.write_csv(), end="")
    return EXIT_OK


def cmd_project(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from pipelines import warehouse
    from pipelines.reports import projection

    if args.sends < 0 or not 0 <= args.share <= 1:
        return _fail("--sends must be >= 0 and --share between 0 and 1", EXIT_USAGE)
    db = config_mod.resolve_db_path(args.db)
    try:
        policy = load_policy(args.policy)
        as_of = _parse_time(args.as_of)
        with warehouse.reader(db) as con:
            plan = projection.project_send(con, args.portal, args.sends, args.share, policy, as_of,
                                           args.with_subportals)
            outlook = projection.forecast(con, args.portal, policy, as_of, args.with_subportals)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except warehouse.DatabaseMissing:
        return _fail(f"no database at {db}: run `python -m pipelines demo` first", EXIT_USAGE)
    if args.json:
        out = {k: v for k, v in asdict(plan).items() if k != "windows"}
        out["forecast"] = {k: v for k, v in asdict(outlook).items() if k != "series"}
        print(json.dumps(out, default=str, indent=1))
        return EXIT_OK

    def pct(v):
        return "n/a" if v is None else f"{v * 100:.2f}%"

    print(f"portal {plan.portal_id}{' (with sub-portals)' if plan.with_subportals else ''}, "
          f"as of {plan.as_of:%Y-%m-%d %H:%M} UTC")
    print(f"now:        {plan.status:<20} hard-bounce rate {pct(plan.hard_rate)} ({plan.deciding_window})")
    print(f"after send: {plan.projected_status:<20} hard-bounce rate {pct(plan.projected_hard_rate)} "
          f"({args.sends:,} sends, {plan.expected_hard_bounces:,} expected hard bounces)")
    if plan.crosses_cutoff:
        print("warning: this send alone would take the portal over the cutoff")
    safe = {"unbounded": "no limit at this share", "already_over": "none: already over the cutoff"}
    largest = (f"{plan.max_safe_sends:,}" if plan.max_safe_sends is not None
               else safe.get(plan.max_safe_note, "-"))
    print(f"largest safe send at {args.share:.1%}: {largest}")
    print(f"falls back under the warning level: {outlook.recovers_on or 'not within the horizon'}"
          f" (if it stops sending: {outlook.recovers_on_without_sends or 'not within the horizon'})")
    print(f"crosses the cutoff at the current trend: {outlook.exceeds_on or 'not within the horizon'}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    from pipelines.ingest.forget import forget
    from pipelines.warehouse import RefreshLocked

    db = config_mod.resolve_db_path(args.db)
    if not db.exists():
        return _fail(f"no database at {db}", EXIT_USAGE)
    try:
        erased = forget(db, args.address)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except RefreshLocked as exc:
        return _fail(str(exc), EXIT_LOCKED)
    rows = sum(erased.rows.values())
    print(f"rows_deleted={rows} quarantine_rows_deleted={erased.quarantine_rows} "
          f"raw_objects_rewritten={erased.objects_rewritten} raw_records_removed={erased.records_removed}")
    return EXIT_OK
