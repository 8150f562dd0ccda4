"""`python -m pipelines <command>`: the one command line schedulers and people use.

Exit codes, the same for every command: 0 done; 1 failed, nothing published; 2 usage error;
75 busy: another refresh holds the lock, or another process held the database file longer than
we waited (try again later; nothing changed).

The handlers (`cmd_*`) do their work and raise; `main()` runs each one through `run()`, and one
table, `EXIT_MAP`, turns what it raised into the exit code and the one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines import config as config_mod
from pipelines import warehouse
from pipelines.reports.policy import load_policy

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75
EXIT_BUSY = EXIT_LOCKED  # the lock, or the database file held by another process

Handler = Callable[[argparse.Namespace], int]


class UsageError(ValueError):
    """Bad input, in the caller's words: exit 2 with the message (as any ValueError)."""


class StepFailed(Exception):
    """The work itself failed with a ValueError (past the arguments, which were fine): exit 1, not 2.

    Raised `from` the original error, whose type and message the failure line shows.
    """


# What a failure (exit 1) says after "error: ", when a command words it otherwise than
# "<command> failed, nothing published".
FAILED_WORDING = {
    "demo": "demo failed",
    "rebuild": "rebuild failed, the database is unchanged",
    "reputation": "reputation failed, nothing recorded",
    "lake": "lake failed (an export leaves the manifest describing the last complete export; marts "
            "leaves the file of --to as it was)",
}

_LOAD_ONE = "run `python -m pipelines demo` or `python -m pipelines refresh`"


def _plain(_command: str, exc: BaseException) -> str:
    return f"error: {exc}"


def _missing(_command: str, exc: BaseException) -> str:
    return f"error: {exc}: {_LOAD_ONE}"


def _interrupted(_command: str, _exc: BaseException) -> str:
    return "interrupted; nothing was published by the unfinished step"


def _failed(command: str, exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, StepFailed) and exc.__cause__ is not None else exc
    wording = FAILED_WORDING.get(command, f"{command} failed, nothing published")
    return f"error: {wording}: {type(cause).__name__}: {cause}"


# What a command raised -> its exit code and its one line on stderr. The first row whose type
# matches wins, so a specific row comes before the general one it is a kind of (DatabaseMissing is
# a FileNotFoundError, UsageError a ValueError; every row is an Exception but the first).
EXIT_MAP: tuple[tuple[type[BaseException], int, Callable[[str, BaseException], str]], ...] = (
    (KeyboardInterrupt, EXIT_FAILED, _interrupted),
    (warehouse.RefreshLocked, EXIT_BUSY, _plain),
    (warehouse.DatabaseBusy, EXIT_BUSY, _plain),
    (warehouse.DatabaseMissing, EXIT_USAGE, _missing),
    (warehouse.DatabaseOutdated, EXIT_FAILED, _plain),
    (warehouse.ServingFile, EXIT_USAGE, _plain),  # the wrong file for the command: remade, not refreshed
    (StepFailed, EXIT_FAILED, _failed),
    (ValueError, EXIT_USAGE, _plain),
    (Exception, EXIT_FAILED, _failed),
)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def exit_for(command: str, exc: BaseException) -> tuple[int, str]:
    """The exit code and the one stderr line for what `command` raised."""
    for kind, code, message in EXIT_MAP:
        if isinstance(exc, kind):
            return code, _one_line(message(command, exc))
    return EXIT_FAILED, _one_line(_failed(command, exc))


def run(command: str, handler: Handler, args: argparse.Namespace) -> int:
    """Run one command's handler: its own exit code, or the map's for what it raised."""
    try:
        return handler(args)
    except (KeyboardInterrupt, Exception) as exc:  # one line for the scheduler's log, not a traceback
        code, line = exit_for(command, exc)
        print(line, file=sys.stderr)
        return code


# The options several commands share, declared once: flags, metavar, default, help. A command may
# word the help for its own use (what its policy or --json output is) or give another default.
SHARED_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "db": (("--db",), {"metavar": "PATH", "help": "database file"}),
    "policy": (("--policy",), {"metavar": "FILE.toml",
                               "help": "policy file (default: pipelines/reports/policy_default.toml)"}),
    "json": (("--json",), {"action": "store_true", "help": "JSON instead of text"}),
    "as_of": (("--as-of",), {"metavar": "ISO", "help": "judge as of this time (UTC), e.g. 2026-11-01T00:00Z "
                                                       "(default: the newest event)"}),
    "memory_limit": (("--memory-limit",), {"metavar": "SIZE",
                                           "help": "DuckDB's working memory, e.g. 1GB or 512MB; past it, "
                                                   "it spills to disk"}),
    "quiet": (("-q", "--quiet"), {"action": "store_true", "help": "no progress output"}),
}


def add_engine(parser: argparse.ArgumentParser) -> None:
    """--engine duckdb|spark with the Spark engine's --lake and --spark-master."""
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="duckdb (default: the database file) or spark (the Parquet lake of --lake)")
    parser.add_argument("--lake", metavar="DIR|s3://bucket/prefix",
                        help="with --engine spark: the lake `lake export` wrote")
    parser.add_argument("--spark-master", metavar="URL",
                        help="with --engine spark: local[N] (default local[2]), spark://host:port or "
                             "Spark Connect sc://host:port")


@contextmanager
def read_side(args: argparse.Namespace) -> Iterator[Any]:
    """What a reporting command reads from: a reader of the database, or the lake on Spark."""
    if getattr(args, "engine", "duckdb") == "spark":
        if not args.lake:
            raise UsageError("--engine spark needs --lake DIR (what `python -m pipelines lake export` wrote)")
        from pipelines.lake import spark

        try:
            con = spark.connect(args.lake, args.spark_master)
        except spark.EngineError as exc:
            raise UsageError(str(exc)) from None
        yield con
        return
    with warehouse.reader(config_mod.resolve_db_path(args.db)) as con:
        yield con


def add_shared(parser: argparse.ArgumentParser, name: str, note: str | None = None,
               **overrides: Any) -> argparse.Action:
    """Add the shared option `name`; `note` is appended to its help in parentheses."""
    flags, spec = SHARED_OPTIONS[name]
    spec = {**spec, **overrides}
    if note:
        spec["help"] = f"{spec['help']} ({note})"
    return parser.add_argument(*flags, **spec)


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
            "Prints progress on stderr and one key=value summary line on stdout, after an `alert ...` "
            "line per status change and, with alert channels configured, a `delivery channel=...` line "
            "per channel (a failing channel is retried on the next refresh and never fails this one). "
            "Exit codes: 0 done "
            "(also when nothing was new), 1 failed and nothing published, 2 usage error, 75 busy: "
            "another refresh is running or the database is held (nothing changed)."
        ),
    )
    r.add_argument("--source", action="append", default=[], metavar="SRC",
                   help="folder, s3://bucket/prefix, sqs://queue-name or queue URL (repeatable)")
    r.add_argument("--config", metavar="FILE.toml",
                   help="TOML file listing sources, directory, tag names and alert channels ([alerts])")
    r.add_argument("--directory", metavar="DIR", help="folder with portals.csv, users.csv, batches.csv")
    add_shared(r, "db")
    add_shared(r, "policy",
               help="status policy for the alerts (default: pipelines/reports/policy_default.toml)")
    r.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for a running refresh to finish (default: exit at once)")
    add_shared(r, "memory_limit", note="default: the config's memory_limit, else 1GB")
    add_shared(r, "quiet")
    r.add_argument("--ses-reputation", action="store_true",
                   help="after the load, also record SES's own bounce and complaint rates from CloudWatch "
                        "(as the config's ses_reputation = true; never fails the refresh)")
    r.add_argument("--lake", metavar="DIR|s3://bucket/prefix",
                   help="after the load, export what changed to this Parquet lake (as `lake export`, or "
                        "the config's lake = \"...\"; never fails the refresh)")

    al = sub.add_parser(
        "alerts",
        help="deliver the alert outbox, or send a test message through a channel",
        description=(
            "deliver: send every configured channel the alerts it has not accepted yet (a refresh does "
            "this after each commit; run it to retry without loading). test: send one harmless test "
            "message through one channel, to check its URL, credentials and receiver."
        ),
        epilog="Prints a `delivery channel=...` line per channel (deliver) or `test channel=... sent` "
               "(test). Exit codes: 0 done (deliver: also when a channel failed; it is retried), "
               "1 the test message was not accepted, 2 usage error or unknown channel, 75 busy.",
    )
    al.add_argument("action", choices=("deliver", "test"))
    al.add_argument("--config", metavar="FILE.toml", required=True, help="the refresh config with [alerts]")
    al.add_argument("--channel", metavar="NAME", help="test: the channel to send through")
    add_shared(al, "db")
    add_shared(al, "policy",
               help="policy the digest judges portals by (default: pipelines/reports/policy_default.toml)")

    st = sub.add_parser(
        "status",
        help="each portal's bounce and complaint rates and status (ok/approaching/exceeded/disabled)",
        description=(
            "Judge every portal, alone and rolled up with its sub-portals, by the policy's windows "
            "ending at --as-of (default: the newest event). With --policy, replay a proposed policy "
            "over the loaded data before adopting it."
        ),
    )
    add_shared(st, "db")
    add_shared(st, "as_of")
    st.add_argument("--window-days", type=int, metavar="N", help="override every policy window's length")
    add_shared(st, "policy")
    add_shared(st, "json", help="JSON (a list of objects) instead of a table")
    add_engine(st)
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
    add_shared(pj, "as_of")
    add_shared(pj, "policy")
    add_shared(pj, "db")
    add_shared(pj, "json")

    c = sub.add_parser(
        "classify",
        help="explain bounce mails: recipient, hard or soft, reason (changes no database)",
        description=(
            "Parse bounce mails (.eml, mbox, maildir, or folders of these) and print, for each "
            "bounced recipient: file, recipient, bounce (hard|soft), reason, status, diagnostic."
        ),
    )
    c.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    add_shared(c, "json", help="one JSON object per line instead of a table")

    fg = sub.add_parser(
        "forget",
        help="erase one address from every table and raw object (a privacy request)",
        description=(
            "Remove an address from the facts, the directory snapshot, quarantine excerpts and the "
            "raw objects kept as received; record the erasure (time and counts, not the address)."
        ),
    )
    fg.add_argument("address", metavar="ADDRESS")
    add_shared(fg, "db")

    rb = sub.add_parser(
        "rebuild",
        help="rebuild every fact from the raw objects the database keeps",
        description=(
            "Re-parse every object the database holds as received (raw_objects) into a new file "
            "and swap it in whole: for a changed view or parsing rule. Readers keep the old file "
            "until the swap; the directory snapshot is carried over."
        ),
    )
    add_shared(rb, "db")
    add_shared(rb, "memory_limit", note="default %(default)s", default=config_mod.RefreshConfig.memory_limit)
    add_shared(rb, "quiet")

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
    add_shared(d, "db", help="database file (replaced)")
    d.add_argument("--no-load", action="store_true", help="only write the files")
    add_shared(d, "quiet")

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
    add_shared(x, "policy",
               help="policy file for the recommended action (default: pipelines/reports/policy_default.toml)")
    add_shared(x, "db")
    add_engine(x)
    x.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the CSV")

    ac = sub.add_parser(
        "actions",
        help="the policy's decisions for the LMS since a cursor (deactivate, suppress, portal cutoff)",
        description=(
            "List what the policy file's [actions] decides, committed after --since: learners to "
            "deactivate, addresses to suppress, portals that reached the cutoff and portals back under "
            "the warning level, each with its evidence and a stable id. Read-only: pass the printed "
            "next cursor as --since next time to get only what is new."
        ),
        epilog="Prints one line per action, then `next_cursor=...` (with --json: one JSON document, "
               "{\"actions\": [...], \"next_cursor\": ...}). Exit codes: 0 done (also when nothing is new), "
               "2 usage error (a cursor this command did not print) or no database yet, 75 busy.",
    )
    ac.add_argument("--since", metavar="CURSOR", help="a next_cursor printed before (default: everything)")
    add_shared(ac, "policy", help="policy file whose [actions] defines the kinds "
                                  "(default: pipelines/reports/policy_default.toml)")
    add_shared(ac, "db")
    add_shared(ac, "json", help="one JSON document instead of lines")

    rp = sub.add_parser(
        "reputation",
        help="record and print SES's own bounce and complaint rates (CloudWatch)",
        description=(
            "Read the account's Reputation.BounceRate and Reputation.ComplaintRate (namespace AWS/SES, "
            "the latest datapoint of the last 24 hours) from CloudWatch with the standard AWS settings, "
            "record them for the Overview, and print them. The app never calls AWS itself."
        ),
        epilog="Prints `region=... bounce_rate=... bounce_measured_at=... complaint_rate=... "
               "complaint_measured_at=...` on stdout (rates as fractions: 0.02 = 2 %). Exit codes: 0 done "
               "(also when CloudWatch holds no datapoint: a note on stderr), 1 CloudWatch could not be read "
               "(no credentials or region, access refused, endpoint unreachable), 2 usage error or no "
               "database yet, 75 busy.",
    )
    add_shared(rp, "db")
    add_shared(rp, "json", help="JSON (a list of objects: metric, value, measured_at, region) instead")

    lk = sub.add_parser(
        "lake",
        help="the facts as a partitioned Parquet lake (export), and the app's file computed from it (marts)",
        description=(
            "export: write the fact tables (events, outcomes, address facts) and the directory as "
            "Parquet under DIR or s3://bucket/prefix, partitioned by send date, with a _manifest.json "
            "(columns and types in order, partitions with rows and bytes, the load id exported). Only "
            "the partitions loads touched since the last export are rewritten, each swapped in whole; "
            "everything after a directory load, an erasure or a rebuild. "
            "marts: recompute the tables the app reads on Spark from the lake of --lake (the outcomes, "
            "address facts and per-portal day counts from their models, over the whole history) and "
            "write them, with the "
            "events and the directory, into the DuckDB file of --to, swapped in whole; the app opens it "
            "as usual (BOUNCEDESK_DB). A serving copy: remade from the lake, never refreshed."
        ),
        epilog="Prints progress on stderr and one line on stdout: export `tables=... partitions_written=... "
               "partitions_kept=... rows=... bytes=... seconds=... load_id=...`, marts `marts=FILE "
               "load_id=... <table>=<rows> ... bytes=... seconds=...`. Exit codes: 0 done (also when "
               "nothing changed), 1 failed (the manifest still describes the last complete export; the "
               "marts file is as it was), 2 usage error, no database or no lake yet, 75 busy.",
    )
    lk.add_argument("action", choices=tuple(LAKE_ACTIONS),
                    help="export: write what changed to the lake; marts: the app's file from the lake")
    lk.add_argument("--to", metavar="DIR|s3://bucket/prefix|FILE.duckdb",
                    help="export: the lake's folder or S3 prefix; marts: the DuckDB file to write")
    lk.add_argument("--lake", metavar="DIR|s3://bucket/prefix", help="marts: the lake `lake export` wrote")
    lk.add_argument("--spark-master", metavar="URL",
                    help="marts: local[N] (default local[2]), spark://host:port or Spark Connect sc://host:port")
    add_shared(lk, "db")
    lk.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait this long for a running refresh to finish (default: exit at once)")
    add_shared(lk, "memory_limit", note="default %(default)s", default=config_mod.RefreshConfig.memory_limit)
    add_shared(lk, "quiet")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS.get(args.command)
    if handler is None:
        parser.error(f"unknown command {args.command}")
    return run(args.command, handler, args)


def cmd_refresh(args: argparse.Namespace) -> int:
    from pipelines.ingest.refresh import refresh
    from pipelines.ingest.sources import open_source

    cfg = config_mod.load_config(args.config) if args.config else config_mod.RefreshConfig()
    alerts = _alerts_config(cfg)  # a wrong channel is a usage error before anything loads
    specs = args.source or cfg.sources
    directory = args.directory or cfg.directory
    if not specs and not directory:
        raise UsageError("nothing to load: give --source (repeatable), --directory or --config")
    sources = [open_source(s) for s in specs]
    policy = load_policy(args.policy) if args.policy else None
    memory_limit = config_mod.memory_size(args.memory_limit or cfg.memory_limit)
    db = config_mod.resolve_db_path(args.db)
    try:
        summary = refresh(
            db, sources, Path(directory) if directory else None, cfg.attribution,
            cfg.max_object_bytes, wait_seconds=args.wait, quiet=args.quiet, policy=policy,
            memory_limit=memory_limit,
        )
    except ValueError as exc:  # the arguments were fine: the load itself failed (exit 1, as ever)
        raise StepFailed(str(exc)) from exc
    for a in summary.alert_rows:
        rate = "" if a["hard_rate"] is None else f"{a['hard_rate']:.4f}"
        print(f"alert portal_id={a['portal_id']} scope={a['scope']} from={a['from_status'] or 'new'} "
              f"to={a['to_status']} hard_rate={rate} sent={a['sent']}")
    _deliver_alerts(db, alerts, policy, summary.load_id if summary.committed else None)
    print(summary.line())
    if args.ses_reputation or cfg.ses_reputation:
        _ses_reputation_after_refresh(db, quiet=args.quiet)
    if args.lake or cfg.lake:
        _lake_after_refresh(db, args.lake or cfg.lake, args.wait, quiet=args.quiet, memory_limit=memory_limit)
    return EXIT_OK


def _alerts_config(cfg: config_mod.RefreshConfig):
    from pipelines import notify

    try:
        return notify.parse_alerts(cfg.alerts, cfg.config_dir)
    except notify.ChannelError as exc:
        raise UsageError(str(exc)) from None


def _deliver_alerts(db: Path, alerts, policy, since_load_id: int | None) -> None:
    """After the commit: a channel that fails is retried next time; it never fails the command."""
    from pipelines import notify

    try:
        reports = notify.deliver(db, alerts, policy=policy, since_load_id=since_load_id)
    except warehouse.RefreshLocked:
        print("alerts: another refresh is delivering; these alerts go with the next one", file=sys.stderr)
        return
    except Exception as exc:  # the load is committed: its exit code must not say otherwise
        print(f"alerts: delivery stopped ({type(exc).__name__}: {exc}); undelivered alerts wait for the "
              "next refresh", file=sys.stderr)
        return
    for report in reports:
        print(report.line())


def cmd_alerts(args: argparse.Namespace) -> int:
    from pipelines import notify

    alerts = _alerts_config(config_mod.load_config(args.config))
    if args.action == "test":
        if not args.channel:
            raise UsageError("alerts test needs --channel NAME")
        try:
            notify.send_test(alerts, args.channel)
        except notify.ChannelError as exc:
            raise UsageError(str(exc)) from None
        except notify.DeliveryFailed as exc:
            print(f"test channel={args.channel} failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
        print(f"test channel={args.channel} sent")
        return EXIT_OK
    if not alerts.channels:
        raise UsageError(f"{args.config} has no [[alerts.channels]]")
    db = config_mod.resolve_db_path(args.db)
    if not db.exists():
        raise warehouse.DatabaseMissing(f"no database at {db}")
    policy = load_policy(args.policy) if args.policy else None
    for report in notify.deliver(db, alerts, policy=policy):
        print(report.line())
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import build as demo

    db = config_mod.resolve_db_path(args.db)
    out = Path(args.out) if args.out else config_mod.REPO_ROOT / "data" / "demo"
    summary = demo.build_demo(
        out, db, sends=args.sends, portals=args.portals, days=args.days, seed=args.seed,
        load=not args.no_load, quiet=args.quiet,
    )
    if summary is not None:
        print(summary.line())
    return EXIT_OK


def cmd_rebuild(args: argparse.Namespace) -> int:
    from pipelines.ingest.refresh import rebuild

    db = config_mod.resolve_db_path(args.db)
    memory_limit = config_mod.memory_size(args.memory_limit)
    try:
        summary = rebuild(db, quiet=args.quiet, memory_limit=memory_limit)
    except FileNotFoundError as exc:  # rebuild's "no database at ...": a usage error, as ever
        raise warehouse.DatabaseMissing(f"{exc}; nothing to rebuild") from exc
    print(summary.line())
    return EXIT_OK


# --json objects: these keys in this order (`evidence` appended last; see classify.Verdict).
CLASSIFY_FIELDS = ("file", "recipient", "bounce", "reason", "status", "diagnostic", "evidence")
# Text table: the short columns, `evidence` after `status`, then the (cut) diagnostic.
CLASSIFY_COLUMNS = ("file", "recipient", "bounce", "reason", "status", "evidence")


def cmd_classify(args: argparse.Namespace) -> int:
    import json

    from pipelines.bounces import dsn

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
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
                    r.diagnostic or "", r.verdict.evidence,
                ), strict=True)))
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    else:
        widths = {f: max([len(f)] + [len(str(r[f])) for r in rows]) for f in CLASSIFY_COLUMNS}
        print("  ".join(f.ljust(widths[f]) for f in CLASSIFY_COLUMNS) + "  diagnostic")
        for r in rows:
            print("  ".join(str(r[f]).ljust(widths[f]) for f in CLASSIFY_COLUMNS) + "  "
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

    policy = load_policy(args.policy)
    as_of = _parse_time(args.as_of)
    if args.engine == "spark":
        with read_side(args) as con:
            table = metrics.status_table(con, policy, as_of, args.window_days)
    else:
        table = metrics.read_status(config_mod.resolve_db_path(args.db), policy, as_of, args.window_days)
    rows = table.select(*STATUS_FIELDS).to_dicts()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return EXIT_OK
    rows = metrics.worst_first(table).select(*STATUS_FIELDS).to_dicts()

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

    from pipelines.reports import export

    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r} is not an ISO 8601 date or time, "
                             "e.g. 2026-11-01T00:00Z") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    policy = load_policy(args.policy) if args.policy else None
    out = Path(args.out)
    # An unknown portal id (export.UnknownPortal) or an empty one is a ValueError: exit 2.
    try:
        with read_side(args) as con:
            covered = export.scope(con, args.portal, args.with_subportals).portals
            df = export.bounced_addresses(con, args.portal, args.with_subportals, since, args.kind,
                                          policy=policy)
    except duckdb.CatalogException as exc:
        raise warehouse.DatabaseOutdated(
            f"the database lacks a view this export reads ({str(exc).splitlines()[0]}); "
            "apply the current views with `python -m pipelines rebuild`") from exc
    try:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(export.to_csv(df))
        tmp.replace(out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"rows={df.height} out={out} portals={','.join(covered)}")
    return EXIT_OK


def cmd_actions(args: argparse.Namespace) -> int:
    import json

    from pipelines.reports import actions

    try:  # a malformed cursor is the caller's mistake, before any database is opened: exit 2
        actions.parse_cursor(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    policy = load_policy(args.policy)
    db = config_mod.resolve_db_path(args.db)
    with warehouse.reader(db) as con:
        feed = actions.actions(con, policy, args.since)
    if args.json:
        print(json.dumps(feed, ensure_ascii=False, indent=1))
        return EXIT_OK
    for action in feed["actions"]:
        print(actions.action_line(action))
    print(f"next_cursor={feed['next_cursor']}")
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    from datetime import date, timedelta

    from pipelines.reports import metrics, projection

    db = config_mod.resolve_db_path(args.db)
    policy = load_policy(args.policy)
    with warehouse.reader(db) as con:
        as_of = _parse_time(args.as_of) or metrics.default_as_of(con)
        last_day = as_of.date() if as_of else date.today()
        until = date.fromisoformat(args.until) if args.until else last_day
        since = date.fromisoformat(args.since) if args.since else until - timedelta(days=30)
        timeline = projection.status_timeline(con, policy, since, until, args.portal)
    frame = projection.status_changes(timeline) if args.changes else timeline
    if args.json:
        print(frame.write_json())
    else:
        print(frame.write_csv(), end="")
    return EXIT_OK


def cmd_project(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from pipelines.reports import projection

    if args.sends < 0 or not 0 <= args.share <= 1:
        raise UsageError("--sends must be >= 0 and --share between 0 and 1")
    db = config_mod.resolve_db_path(args.db)
    policy = load_policy(args.policy)
    as_of = _parse_time(args.as_of)
    with warehouse.reader(db) as con:
        plan = projection.project_send(con, args.portal, args.sends, args.share, policy, as_of,
                                       args.with_subportals)
        outlook = projection.forecast(con, args.portal, policy, as_of, args.with_subportals)
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

    db = config_mod.resolve_db_path(args.db)
    if not db.exists():  # forget() would create an empty one to erase from
        raise warehouse.DatabaseMissing(f"no database at {db}")
    erased = forget(db, args.address)
    rows = sum(erased.rows.values())
    print(f"rows_deleted={rows} quarantine_rows_deleted={erased.quarantine_rows} "
          f"raw_objects_rewritten={erased.objects_rewritten} raw_records_removed={erased.records_removed}")
    return EXIT_OK


def cmd_status_or_timeline(args: argparse.Namespace) -> int:
    return cmd_timeline(args) if args.timeline else cmd_status(args)


def _reputation_line(region: str | None, rows: list) -> str:
    """SES's figures as one key=value line: empty values for a metric CloudWatch had no datapoint of."""
    from pipelines.ingest.reputation import METRICS

    by_metric = {r.metric: r for r in rows}
    parts = [f"region={region or ''}"]
    for key, metric in METRICS.items():
        r = by_metric.get(metric)
        parts.append(f"{key}_rate={'' if r is None else f'{r.value:g}'}")
        parts.append(f"{key}_measured_at={'' if r is None else _iso(r.measured_at)}")
    return " ".join(parts)


def _iso(at) -> str:
    from datetime import UTC

    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _ses_reputation_after_refresh(db: Path, quiet: bool) -> None:
    """After the load's summary: SES's own figures are an extra, so nothing here fails the refresh (no
    credentials, access refused, no datapoint, the database held): it records nothing and says why
    in one line on stderr, even with --quiet."""
    from datetime import UTC, datetime

    from pipelines.ingest import reputation

    try:
        region, rows = reputation.fetch_and_record(db, datetime.now(UTC))
    except (reputation.ReputationUnavailable, warehouse.RefreshLocked, warehouse.DatabaseBusy) as exc:
        print(f"ses_reputation: nothing recorded: {_one_line(str(exc))}", file=sys.stderr)
        return
    except Exception as exc:  # the load is committed; an unforeseen failure here must not undo its exit 0
        print(f"ses_reputation: nothing recorded: {type(exc).__name__}: {_one_line(str(exc))}",
              file=sys.stderr)
        return
    if not rows:
        print(f"ses_reputation: nothing recorded: {reputation.nothing_found(region)}", file=sys.stderr)
    elif not quiet:
        print(f"ses_reputation: {_reputation_line(region, rows)}", file=sys.stderr)


def cmd_reputation(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC, datetime

    from pipelines.ingest import reputation

    db = config_mod.resolve_db_path(args.db)
    if not db.exists():  # the figures are shown beside loaded data: load some first
        raise warehouse.DatabaseMissing(f"no database at {db}")
    # CloudWatch unreadable: ReputationUnavailable, exit 1 with its reason (the exit map's last row).
    region, rows = reputation.fetch_and_record(db, datetime.now(UTC))
    if not rows:
        print(f"note: {reputation.nothing_found(region)}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"metric": r.metric, "value": r.value, "measured_at": _iso(r.measured_at),
                           "region": r.region} for r in rows], indent=1))
    else:
        print(_reputation_line(region, rows))
    return EXIT_OK


def cmd_lake(args: argparse.Namespace) -> int:
    return LAKE_ACTIONS[args.action](args)


def _lake_export(args: argparse.Namespace) -> int:
    from pipelines.lake import export

    if not args.to:
        raise UsageError("lake export needs --to DIR or s3://bucket/prefix")
    export.open_lake(args.to)  # a malformed s3:// URL is a usage error, before the database is opened
    memory_limit = config_mod.memory_size(args.memory_limit)
    db = config_mod.resolve_db_path(args.db)
    try:
        result = export.export_lake(db, args.to, quiet=args.quiet, wait_seconds=args.wait,
                                    memory_limit=memory_limit)
    except ValueError as exc:  # the arguments were fine: the export itself failed (exit 1)
        raise StepFailed(str(exc)) from exc
    print(result.line())
    return EXIT_OK


def _lake_after_refresh(db: Path, target: str, wait_seconds: float, quiet: bool,
                        memory_limit: str | None) -> None:
    """After the load's summary: the load is committed, so a failing export (the lake unreachable, the
    lock taken by the next refresh) never fails the refresh. It says why in one `lake: ...` line on
    stderr; the next export catches up, from the last export that completed."""
    from pipelines.lake.export import export_lake

    try:
        result = export_lake(db, target, quiet=quiet, wait_seconds=wait_seconds, memory_limit=memory_limit)
    except warehouse.RefreshLocked:
        print("lake: not exported: another refresh holds the database; the next export catches up",
              file=sys.stderr)
        return
    except Exception as exc:
        print(f"lake: not exported: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return
    print(f"lake {result.line()}")


def _lake_marts(args: argparse.Namespace) -> int:
    from pipelines.lake import marts, spark

    if not args.lake or not args.to:
        raise UsageError("lake marts needs --lake DIR|s3://... (what `lake export` wrote) and "
                         "--to FILE.duckdb")
    target = Path(args.to)
    if args.to.startswith("s3://") or target.suffix != ".duckdb":
        raise UsageError(f"lake marts writes a DuckDB file: --to FILE.duckdb, not {args.to}")
    try:
        result = marts.build_marts(args.lake, target, args.spark_master, quiet=args.quiet)
    except spark.EngineError as exc:
        raise UsageError(str(exc)) from None
    print(result.line())
    return EXIT_OK


# `lake ACTION` -> its handler; each reads the options it needs from the `lake` parser.
LAKE_ACTIONS: dict[str, Handler] = {
    "export": _lake_export,
    "marts": _lake_marts,
}


# Command -> handler; `main()` runs the one asked for through `run()` and the exit map.
COMMANDS: dict[str, Handler] = {
    "refresh": cmd_refresh,
    "demo": cmd_demo,
    "rebuild": cmd_rebuild,
    "classify": cmd_classify,
    "status": cmd_status_or_timeline,
    "project": cmd_project,
    "forget": cmd_forget,
    "export": cmd_export,
    "actions": cmd_actions,
    "alerts": cmd_alerts,
    "reputation": cmd_reputation,
    "lake": cmd_lake,
}
