"""Score the bounce-mail parser and classifier against labelled real bounce mails.

    .venv/bin/python bench/score_dsn.py                 # tests/fixtures/dsn (default)
    .venv/bin/python bench/score_dsn.py --dir PATH      # any folder with NNN.eml + expected.csv
    .venv/bin/python bench/score_dsn.py --no-flufl      # skip the flufl.bounce comparison

`expected.csv` has one row per bounced recipient: file, recipient, hard_or_soft, reason,
status_code, source. Figures: recipients found, hard/soft accuracy, reason accuracy (over all
expected recipients: a recipient not found counts as wrong), status-code accuracy over rows
whose expected code is a real one (sisimai's X.0.9NN stand-ins are not in the mail and are
skipped), a confusion table of reasons and the list of misses. The comparison with flufl.bounce
(GNU Mailman's detectors: recipients and permanent/temporary only) reports how many expected
recipients it finds, how often permanent/temporary agrees with hard/soft, and what it would add
as a fallback recipient extractor behind `pipelines.dsn`.
"""

from __future__ import annotations

import argparse
import csv
import email
import email.policy
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipelines.bounces.dsn import parse  # noqa: E402

DEFAULT_DIR = REPO / "tests" / "fixtures" / "dsn"
PSEUDO_CODE = re.compile(r"^\d\.0\.9\d\d$")


def _pct(n: int, d: int) -> float:
    return round(100.0 * n / d, 1) if d else 0.0


def _flufl(data: bytes) -> tuple[set[str], set[str]] | None:
    """(temporary, permanent) recipients per flufl.bounce, or None if unavailable/crashing."""
    try:
        from flufl.bounce import all_failures
    except ImportError:
        return None
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        temp, perm = all_failures(msg)
    except Exception:
        return set(), set()

    def norm(values) -> set[str]:
        out = set()
        for v in values:
            s = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            out.add(s.strip().strip("<>").lower())
        return out

    return norm(temp), norm(perm)


def score(directory: str | Path = DEFAULT_DIR, *, with_flufl: bool = True) -> dict:
    """Parse every mail in `directory` and compare with its expected.csv; returns the figures."""
    directory = Path(directory)
    expected: dict[str, list[dict]] = {}
    with (directory / "expected.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected.setdefault(row["file"], []).append(row)
    mails = sorted(p.name for p in directory.glob("*.eml"))

    rows = found = hard_ok = reason_ok = 0
    status_rows = status_ok = extra = 0
    confusion: Counter = Counter()
    misses: list[dict] = []
    fl_found = fl_agree = fl_judged = fl_adds = fl_extra_on_empty = 0
    flufl_available = with_flufl
    problems: dict[str, str] = {}

    for name in mails:
        data = (directory / name).read_bytes()
        result = parse(data)
        if not result.recipients and result.problem:
            problems[name] = result.problem
        got = {r.recipient: r for r in result.recipients}
        exp_rows = expected.get(name, [])
        exp_addrs = {r["recipient"].lower() for r in exp_rows}
        extra += len(set(got) - exp_addrs)
        fl = _flufl(data) if flufl_available else None
        if fl is None:
            flufl_available = False
        for row in exp_rows:
            rows += 1
            addr = row["recipient"].lower()
            r = got.get(addr)
            want_code = row["status_code"].strip()
            real_code = bool(want_code) and not PSEUDO_CODE.match(want_code)
            if real_code:
                status_rows += 1
            got_reason = r.verdict.reason if r else "(not found)"
            if r:
                found += 1
                hard_ok += r.verdict.bounce == row["hard_or_soft"]
                reason_ok += r.verdict.reason == row["reason"]
                if real_code:
                    status_ok += r.verdict.status == want_code
            confusion[(row["reason"], got_reason)] += 1
            if not r or r.verdict.reason != row["reason"] or r.verdict.bounce != row["hard_or_soft"] \
                    or (real_code and r.verdict.status != want_code):
                misses.append({
                    "file": name, "recipient": addr,
                    "expected": f"{row['hard_or_soft']}/{row['reason']}/{want_code}",
                    "got": (f"{r.verdict.bounce}/{r.verdict.reason}/{r.verdict.status}"
                            f" [{r.verdict.signal}]" if r else "(not found)"),
                    "diagnostic": (r.diagnostic or "")[:160] if r else result.problem or "",
                })
            if fl is not None:
                temp, perm = fl
                if addr in temp or addr in perm:
                    fl_found += 1
                    fl_judged += 1
                    fl_hard = addr in perm
                    fl_agree += fl_hard == (row["hard_or_soft"] == "hard")
                    if not r:
                        fl_adds += 1
        if fl is not None and not result.recipients:
            fl_extra_on_empty += len((fl[0] | fl[1]) - exp_addrs)

    out = {
        "mails": len(mails),
        "expected_recipients": rows,
        "found": found,
        "found_pct": _pct(found, rows),
        "hard_soft_pct": _pct(hard_ok, rows),
        "reason_pct": _pct(reason_ok, rows),
        "status_rows": status_rows,
        "status_pct": _pct(status_ok, status_rows),
        "extra_recipients": extra,
        "confusion": {f"{a} -> {b}": n for (a, b), n in sorted(confusion.items()) if a != b},
        "misses": misses,
        "problems": problems,
    }
    if flufl_available:
        out["flufl"] = {
            "found": fl_found,
            "found_pct": _pct(fl_found, rows),
            "permanent_agrees_with_hard_pct": _pct(fl_agree, fl_judged),
            "adds_as_fallback": fl_adds,
            "false_recipients_on_our_empty_mails": fl_extra_on_empty,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=str(DEFAULT_DIR), help="folder with *.eml and expected.csv")
    ap.add_argument("--no-flufl", action="store_true", help="skip the flufl.bounce comparison")
    args = ap.parse_args(argv)
    s = score(args.dir, with_flufl=not args.no_flufl)
    print(f"mails                 {s['mails']}")
    print(f"expected recipients   {s['expected_recipients']}")
    print(f"recipients found      {s['found']} ({s['found_pct']} %); extra addresses {s['extra_recipients']}")
    print(f"hard/soft accuracy    {s['hard_soft_pct']} %")
    print(f"reason accuracy       {s['reason_pct']} %")
    print(f"status-code accuracy  {s['status_pct']} % of {s['status_rows']} rows with a real code")
    if "flufl" in s:
        f = s["flufl"]
        print("\nflufl.bounce")
        print(f"  recipients found              {f['found']} ({f['found_pct']} %)")
        print(f"  permanent/temporary = hard/soft {f['permanent_agrees_with_hard_pct']} % of those found")
        print(f"  adds as fallback extractor    {f['adds_as_fallback']} recipients we miss")
        print(f"  addresses it reports on mails where we find none (not expected) "
              f"{f['false_recipients_on_our_empty_mails']}")
    print("\nreason confusion (expected -> got: count)")
    for k, n in sorted(s["confusion"].items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {k}: {n}")
    print(f"\nmisses ({len(s['misses'])})")
    for m in s["misses"]:
        print(f"  {m['file']} {m['recipient']}: expected {m['expected']}, got {m['got']}")
        if m["diagnostic"]:
            print(f"      {m['diagnostic']}")
    if s["problems"]:
        print("\nmails with no recipient")
        for name, problem in s["problems"].items():
            print(f"  {name}: {problem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
