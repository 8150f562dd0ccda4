"""Score the bounce-mail parser and classifier against labelled real bounce mails.

    .venv/bin/python bench/score_dsn.py                 # tests/fixtures/dsn (default)
    .venv/bin/python bench/score_dsn.py --dir PATH      # any folder with NNN.eml + expected.csv
    .venv/bin/python bench/score_dsn.py --no-flufl      # skip the flufl.bounce comparison

A thin command over the project's scorer, `tests/support/dsn_scoring.py` (its docstring says how
recipients are matched and what each figure is over; `tests/unit/test_dsn_accuracy.py` holds the
figures to floors). This adds the comparison with flufl.bounce (GNU Mailman's detectors:
recipients and permanent/temporary only): how many expected recipients it finds, how often
permanent/temporary agrees with hard/soft, and what it would add as a fallback recipient extractor
behind `pipelines.bounces.dsn`.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.dsn_scoring import DEFAULT_DIR, Score, pct, read_expected, report, score  # noqa: E402


def _flufl(data: bytes) -> tuple[set[str], set[str]] | None:
    """(temporary, permanent) recipients per flufl.bounce, or None if unavailable."""
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


def flufl_comparison(directory: str | Path, s: Score) -> dict | None:
    """flufl.bounce's figures on the same mails, against `s` (our score); None without flufl."""
    directory = Path(directory)
    expected = read_expected(directory)
    rows = found = agree = adds = extra_on_empty = 0
    for name, ours in s.output.items():
        fl = _flufl((directory / name).read_bytes())
        if fl is None:
            return None
        temp, perm = fl
        exp_rows = expected.get(name, [])
        for row in exp_rows:
            rows += 1
            addr = row["recipient"].lower()
            if addr in temp or addr in perm:
                found += 1
                agree += (addr in perm) == (row["hard_or_soft"] == "hard")
                adds += addr not in ours
        if not ours:
            extra_on_empty += len((temp | perm) - {r["recipient"].lower() for r in exp_rows})
    return {
        "found": found,
        "found_pct": pct(found, rows),
        "permanent_agrees_with_hard_pct": pct(agree, found),
        "adds_as_fallback": adds,
        "false_recipients_on_our_empty_mails": extra_on_empty,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=str(DEFAULT_DIR), help="folder with *.eml and expected.csv")
    ap.add_argument("--no-flufl", action="store_true", help="skip the flufl.bounce comparison")
    args = ap.parse_args(argv)
    s = score(args.dir)
    extra: list[str] = []
    f = None if args.no_flufl else flufl_comparison(args.dir, s)
    if f is not None:
        extra = [
            "",
            "flufl.bounce",
            f"  recipients found              {f['found']} ({f['found_pct']} %)",
            f"  permanent/temporary = hard/soft {f['permanent_agrees_with_hard_pct']} % of those found",
            f"  adds as fallback extractor    {f['adds_as_fallback']} recipients we miss",
            f"  addresses it reports on mails where we find none (not expected) "
            f"{f['false_recipients_on_our_empty_mails']}",
        ]
    print(report(s, after_summary=extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
