"""Score the bounce-mail parser and classifier against a folder of labelled bounce mails.

    .venv/bin/python -m tests.support.dsn_scoring                 # tests/fixtures/dsn (default)
    .venv/bin/python -m tests.support.dsn_scoring --dir PATH      # any folder: NNN.eml + expected.csv

`score(folder)` parses every `*.eml` in the folder with `pipelines.bounces.dsn.parse` and compares
the recipients it outputs with `expected.csv`: one row per bounced recipient (file, recipient,
hard_or_soft, reason, status_code, source). Matching rules:

- a recipient is found when the expected address, lower-cased, is one the parser outputs for that
  file (the parser outputs lower-cased addresses);
- hard/soft and reason accuracy are over the recipients found (a recipient not found is counted in
  "found", not twice);
- the status code is judged only on rows whose expected code is a real one, over all such rows (a
  recipient not found counts as wrong): sisimai's `X.0.9NN` stand-ins are not in the mail;
- a false recipient is an address the parser outputs for a mail whose labels do not name it;
- the reason confusion counts (expected -> got) for every expected recipient whose reason was not
  reproduced, `(not found)` when the parser did not output it.

Pure: reads the folder, writes nothing. `bench/score_dsn.py` is the same report plus a comparison
with flufl.bounce.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.bounces.dsn import parse

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"
PSEUDO_CODE = re.compile(r"^\d\.0\.9\d\d$")
NOT_FOUND = "(not found)"


def pct(n: int, d: int) -> float:
    """Percentage rounded to one decimal; 0.0 when there is nothing to divide by."""
    return round(100.0 * n / d, 1) if d else 0.0


@dataclass(frozen=True)
class Miss:
    """An expected recipient not found, or found with another hard/soft, reason or status code."""

    file: str
    recipient: str
    expected: str  # "hard/userunknown/5.1.1"
    got: str  # "soft/filtered/5.1.1 [signal]" or "(not found)"
    diagnostic: str


@dataclass(frozen=True)
class FalseRecipient:
    file: str
    recipient: str


@dataclass(frozen=True)
class Score:
    mails: int
    expected_recipients: int
    found: int
    hard_soft_ok: int
    reason_ok: int
    status_rows: int  # expected rows with a real status code
    status_ok: int
    confusion: dict[tuple[str, str], int]  # (expected reason, got reason or "(not found)") -> count
    false_recipients: tuple[FalseRecipient, ...]
    misses: tuple[Miss, ...]
    problems: dict[str, str] = field(default_factory=dict)  # mail with no recipient -> why
    output: dict[str, tuple[str, ...]] = field(default_factory=dict)  # mail -> recipients output

    @property
    def found_pct(self) -> float:
        return pct(self.found, self.expected_recipients)

    @property
    def hard_soft_pct(self) -> float:
        """Hard/soft right, % of the recipients found."""
        return pct(self.hard_soft_ok, self.found)

    @property
    def reason_pct(self) -> float:
        """Reason right, % of the recipients found."""
        return pct(self.reason_ok, self.found)

    @property
    def status_pct(self) -> float:
        """Status code right, % of the expected rows with a real code."""
        return pct(self.status_ok, self.status_rows)


def read_expected(folder: str | Path) -> dict[str, list[dict[str, str]]]:
    """expected.csv's rows, by file name."""
    expected: dict[str, list[dict[str, str]]] = {}
    with (Path(folder) / "expected.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected.setdefault(row["file"], []).append(row)
    return expected


def score(folder: str | Path = DEFAULT_DIR) -> Score:
    """Parse every mail in `folder` and compare with its expected.csv."""
    folder = Path(folder)
    expected = read_expected(folder)
    mails = sorted(p.name for p in folder.glob("*.eml"))
    rows = found = hard_ok = reason_ok = status_rows = status_ok = 0
    confusion: Counter[tuple[str, str]] = Counter()
    false: list[FalseRecipient] = []
    misses: list[Miss] = []
    problems: dict[str, str] = {}
    output: dict[str, tuple[str, ...]] = {}

    for name in mails:
        result = parse((folder / name).read_bytes())
        if not result.recipients and result.problem:
            problems[name] = result.problem
        got = {r.recipient: r for r in result.recipients}
        output[name] = tuple(got)
        want = expected.get(name, [])
        named = {row["recipient"].lower() for row in want}
        false.extend(FalseRecipient(name, addr) for addr in got if addr not in named)
        for row in want:
            rows += 1
            addr = row["recipient"].lower()
            r = got.get(addr)
            code = row["status_code"].strip()
            real_code = bool(code) and not PSEUDO_CODE.match(code)
            status_rows += real_code
            if r:
                found += 1
                hard_ok += r.verdict.bounce == row["hard_or_soft"]
                reason_ok += r.verdict.reason == row["reason"]
                status_ok += real_code and r.verdict.status == code
            got_reason = r.verdict.reason if r else NOT_FOUND
            if got_reason != row["reason"]:
                confusion[(row["reason"], got_reason)] += 1
            if not r or (r.verdict.bounce, r.verdict.reason) != (row["hard_or_soft"], row["reason"]) \
                    or (real_code and r.verdict.status != code):
                misses.append(Miss(
                    file=name, recipient=addr,
                    expected=f"{row['hard_or_soft']}/{row['reason']}/{code}",
                    got=(f"{r.verdict.bounce}/{r.verdict.reason}/{r.verdict.status} [{r.verdict.signal}]"
                         if r else NOT_FOUND),
                    diagnostic=((r.diagnostic or "")[:160] if r else result.problem or ""),
                ))

    return Score(
        mails=len(mails), expected_recipients=rows, found=found, hard_soft_ok=hard_ok,
        reason_ok=reason_ok, status_rows=status_rows, status_ok=status_ok,
        confusion=dict(sorted(confusion.items())), false_recipients=tuple(false),
        misses=tuple(misses), problems=problems, output=output,
    )


def summary_lines(s: Score) -> list[str]:
    return [
        f"mails                 {s.mails}",
        f"expected recipients   {s.expected_recipients}",
        f"recipients found      {s.found} ({s.found_pct} %)",
        f"false recipients      {len(s.false_recipients)}",
        f"hard/soft accuracy    {s.hard_soft_pct} % of found ({s.hard_soft_ok} of {s.found})",
        f"reason accuracy       {s.reason_pct} % of found ({s.reason_ok} of {s.found})",
        f"status-code accuracy  {s.status_pct} % of {s.status_rows} rows with a real code",
    ]


def detail_lines(s: Score) -> list[str]:
    out = ["", "reason confusion (expected -> got: count)"]
    out += [f"  {a} -> {b}: {n}"
            for (a, b), n in sorted(s.confusion.items(), key=lambda kv: (-kv[1], kv[0]))]
    out += ["", f"false recipients ({len(s.false_recipients)})"]
    out += [f"  {f.file} {f.recipient}" for f in s.false_recipients]
    out += ["", f"misses ({len(s.misses)})"]
    for m in s.misses:
        out.append(f"  {m.file} {m.recipient}: expected {m.expected}, got {m.got}")
        if m.diagnostic:
            out.append(f"      {m.diagnostic}")
    if s.problems:
        out += ["", "mails with no recipient"]
        out += [f"  {name}: {problem}" for name, problem in s.problems.items()]
    return out


def report(s: Score, *, after_summary: Iterable[str] = ()) -> str:
    """The printed report: summary, any extra section (the bench's flufl comparison), details."""
    return "\n".join([*summary_lines(s), *after_summary, *detail_lines(s)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=str(DEFAULT_DIR), help="folder with *.eml and expected.csv")
    args = ap.parse_args(argv)
    print(report(score(args.dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
