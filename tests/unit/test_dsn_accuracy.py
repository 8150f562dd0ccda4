"""Measured accuracy of parser + classifier on the labelled real bounce mails in tests/fixtures/dsn.

`expected.csv` has one row per bounced recipient (file, recipient, hard_or_soft, reason,
status_code, source). Recipients found, hard/soft and reason are over every expected recipient (one
not found counts as wrong); the status code is judged only on rows whose expected code is a real one
(sisimai's X.0.9NN stand-ins are not in the mail). The figures are computed here, the way
`bench/score_dsn.py` reports them; the thresholds are the project's targets.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from pipelines.bounces.dsn import parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"
PSEUDO_CODE = re.compile(r"^\d\.0\.9\d\d$")


def _pct(n: int, d: int) -> float:
    return round(100.0 * n / d, 1) if d else 0.0


def score(directory: Path) -> dict:
    """Parse every mail in `directory` and compare it with its expected.csv."""
    expected: dict[str, list[dict]] = {}
    with (directory / "expected.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected.setdefault(row["file"], []).append(row)
    mails = sorted(p.name for p in directory.glob("*.eml"))
    rows = found = hard_ok = reason_ok = status_rows = status_ok = extra = 0
    misses: list[dict] = []
    for name in mails:
        result = parse((directory / name).read_bytes())
        got = {r.recipient: r for r in result.recipients}
        want = expected.get(name, [])
        extra += len(set(got) - {row["recipient"].lower() for row in want})
        for row in want:
            rows += 1
            r = got.get(row["recipient"].lower())
            code = row["status_code"].strip()
            real_code = bool(code) and not PSEUDO_CODE.match(code)
            status_rows += real_code
            if r:
                found += 1
                hard_ok += r.verdict.bounce == row["hard_or_soft"]
                reason_ok += r.verdict.reason == row["reason"]
                status_ok += real_code and r.verdict.status == code
            if not r or (r.verdict.bounce, r.verdict.reason) != (row["hard_or_soft"], row["reason"]) \
                    or (real_code and r.verdict.status != code):
                misses.append({
                    "file": name, "recipient": row["recipient"],
                    "expected": f"{row['hard_or_soft']}/{row['reason']}/{code}",
                    "got": (f"{r.verdict.bounce}/{r.verdict.reason}/{r.verdict.status}"
                            if r else "(not found)"),
                })
    return {
        "mails": len(mails),
        "expected_recipients": rows,
        "found_pct": _pct(found, rows),
        "hard_soft_pct": _pct(hard_ok, rows),
        "reason_pct": _pct(reason_ok, rows),
        "status_pct": _pct(status_ok, status_rows),
        "extra_recipients": extra,
        "misses": misses,
    }


@pytest.fixture(scope="module")
def figures() -> dict:
    return score(FIXTURES)


def test_the_sample_set_is_complete(figures):
    assert figures["mails"] >= 70
    assert figures["expected_recipients"] >= 75


def test_recipients_found(figures):
    assert figures["found_pct"] >= 98.0, figures["misses"]


def test_hard_soft_accuracy(figures):
    assert figures["hard_soft_pct"] >= 95.0, figures["misses"]


def test_reason_accuracy(figures):
    assert figures["reason_pct"] >= 85.0, figures["misses"]


def test_status_code_accuracy(figures):
    assert figures["status_pct"] >= 90.0, figures["misses"]


def test_no_invented_recipients(figures):
    assert figures["extra_recipients"] <= 2
