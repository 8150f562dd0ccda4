"""Ingest benchmark: the full refresh against a single-statement DuckDB reference and a naive loader.

    .venv/bin/python bench/bench_ingest.py --sends 100000
    .venv/bin/python bench/bench_ingest.py --sends 1000000

All three run as child processes over the same generated files (gzip, concatenated records, the
Firehose layout), so each one's peak RSS is its own (`os.wait4`). Then one more hourly object is
added and the incremental refresh is timed. Figures are ratios against the reference, measured
in the same run; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"

REFERENCE = r"""
import sys, duckdb
files, db = sys.argv[1], sys.argv[2]
con = duckdb.connect(db)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
paths = [l for l in open(files).read().splitlines() if l]
# DuckDB detects gzip by file name only, so the files are split by their magic bytes here.
gz = [p for p in paths if open(p, 'rb').read(2) == b'\x1f\x8b']
plain = [p for p in paths if p not in set(gz)]
# One statement: read every object, flatten every record to recipient rows.
con.execute('''
create table ref as
with recs as (
    select json as j, coalesce(json->>'eventType', json->>'notificationType') as event_type
    from (
        select json from read_json_objects(?, format = 'auto', compression = 'gzip')
        union all
        select json from read_json_objects(?, format = 'auto', compression = 'none')
    )
)
select
    event_type,
    j->>'$.mail.messageId' as message_id,
    cast(j->>'$.mail.timestamp' as timestamptz) as sent_at,
    lower(coalesce(r->>'emailAddress', r->>'$')) as recipient,
    j->>'$.bounce.bounceType' as bounce_type,
    j->>'$.bounce.bounceSubType' as bounce_subtype,
    r->>'status' as status_code,
    r->>'diagnosticCode' as diagnostic,
    j->>'$.mail.tags.portal_id[0]' as portal_id
from recs, unnest(json_extract(case event_type
    when 'Bounce' then j->'$.bounce.bouncedRecipients'
    when 'Complaint' then j->'$.complaint.complainedRecipients'
    when 'Delivery' then j->'$.delivery.recipients'
    when 'DeliveryDelay' then j->'$.deliveryDelay.delayedRecipients'
    else j->'$.mail.destination' end, '$[*]')) as t(r)
''', [gz, plain or gz[:0]])
print(con.execute("select count(*) from ref").fetchone()[0])
"""

NAIVE = r"""
import gzip, json, sys, duckdb, polars as pl
files, db = sys.argv[1], sys.argv[2]
rows = []
dec = json.JSONDecoder()
for path in [l for l in open(files).read().splitlines() if l]:
    data = open(path, 'rb').read()
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    text, pos = data.decode(), 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        rec, pos = dec.raw_decode(text, pos)
        et = rec.get('eventType') or rec.get('notificationType')
        mail = rec.get('mail', {})
        key = {'Bounce': ('bounce', 'bouncedRecipients'),
               'Complaint': ('complaint', 'complainedRecipients'),
               'Delivery': ('delivery', 'recipients'),
               'DeliveryDelay': ('deliveryDelay', 'delayedRecipients')}
        if et in key:
            rcpts = rec.get(key[et][0], {}).get(key[et][1], [])
        else:
            rcpts = mail.get('destination', [])
        for r in rcpts:
            addr = r.get('emailAddress') if isinstance(r, dict) else r
            rows.append({
                'event_type': et, 'message_id': mail.get('messageId'), 'sent_at': mail.get('timestamp'),
                'recipient': addr.lower(), 'bounce_type': rec.get('bounce', {}).get('bounceType'),
                'status_code': r.get('status') if isinstance(r, dict) else None,
                'portal_id': (mail.get('tags', {}).get('portal_id') or [None])[0],
            })
frame = pl.DataFrame(rows, infer_schema_length=None)
con = duckdb.connect(db)
con.execute("set enable_progress_bar = false")
con.execute('create table naive as select * from frame')
print(len(rows))
"""


def run_child(args: list[str]) -> tuple[float, float, str]:
    """Seconds, peak RSS (MB) and stdout of one child process."""
    # Output goes to files, not pipes: a child printing more than a pipe holds (a refresh's alert
    # lines) would block on it while this process waits for it to exit.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(args, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{args[:4]} failed ({proc.returncode}): {stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, stdout.strip()


def generate(sends: int, end: datetime) -> Path:
    from pipelines.demo.build import write_ses_exports

    folder = OUT / f"ses-{sends}"
    marker = folder / ".complete"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {sends:,} sends ...", file=sys.stderr)
        # A clean feed: the reference cannot skip a truncated record (the loader can).
        write_ses_exports(folder, sends=sends, portals=50, days=60, seed=11, end=end, defects=False)
        marker.write_text("ok")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) pure-Python peer")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))

    end = datetime(2026, 11, 1, tzinfo=UTC)
    folder = generate(args.sends, end)
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    listing = OUT / f"files-{args.sends}.txt"
    listing.write_text("\n".join(files))
    size = sum(Path(f).stat().st_size for f in files)
    work = OUT / f"work-{args.sends}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    results: dict[str, dict] = {}
    s, rss, rows = run_child([sys.executable, "-c", REFERENCE, str(listing), str(work / "ref.duckdb")])
    results["reference (one DuckDB statement)"] = {"seconds": s, "peak_rss_mb": rss, "rows": int(rows)}

    db = work / "bouncedesk.duckdb"
    s, rss, line = run_child([sys.executable, "-m", "pipelines", "refresh", "-q", "--source", str(folder),
                              "--db", str(db)])
    summary = dict(kv.split("=", 1) for kv in line.splitlines()[-1].split())
    results["bouncedesk refresh"] = {"seconds": s, "peak_rss_mb": rss, "rows": int(summary["facts_new"]),
                                     "commit_seconds": float(summary["commit_seconds"])}
    if not args.skip_naive:
        s, rss, rows = run_child([sys.executable, "-c", NAIVE, str(listing), str(work / "naive.duckdb")])
        results["naive Python loader"] = {"seconds": s, "peak_rss_mb": rss, "rows": int(rows)}

    # Incremental: one more hourly object after the history.
    from pipelines.demo.build import write_ses_exports

    extra = OUT / f"extra-{args.sends}"
    shutil.rmtree(extra, ignore_errors=True)
    # A day at the same hourly rate as the history; only its last full hour's object is added.
    write_ses_exports(extra, sends=max(args.sends // 60, 200), portals=50, days=1, seed=99,
                      end=end + timedelta(days=1), defects=False)
    hours = sorted(p for p in extra.rglob("*") if p.is_file() and "/sns/" not in p.as_posix()
                   and not p.name.startswith(".") and p.suffix != ".json")
    newest = hours[-2]  # the last hour folder can be a partial hour
    hour_dir = folder / "incremental"
    shutil.rmtree(hour_dir, ignore_errors=True)
    hour_dir.mkdir()
    shutil.copy(newest, hour_dir / newest.name)
    s, rss, line = run_child([sys.executable, "-m", "pipelines", "refresh", "-q", "--source", str(folder),
                              "--db", str(db)])
    summary = dict(kv.split("=", 1) for kv in line.splitlines()[-1].split())
    results["incremental refresh (one new hourly object)"] = {
        "seconds": s, "peak_rss_mb": rss, "rows": int(summary["facts_new"]),
        "commit_seconds": float(summary["commit_seconds"]), "objects_new": int(summary["objects_new"]),
    }
    shutil.rmtree(hour_dir, ignore_errors=True)

    ref = results["reference (one DuckDB statement)"]["seconds"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{args.sends:,} sends, {len(files)} objects, {size / 1e6:,.0f} MB gzip; {machine}")
    print(f"{'run':46} {'seconds':>8} {'x ref':>6} {'peak MB':>8} {'rows':>10}")
    for name, r in results.items():
        held = f"  (live file held {r['commit_seconds']:.2f} s)" if "commit_seconds" in r else ""
        print(f"{name:46} {r['seconds']:8.2f} {r['seconds'] / ref:6.2f} {r['peak_rss_mb']:8.0f} "
              f"{r['rows']:>10,}{held}")
    (OUT / f"ingest-{args.sends}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
