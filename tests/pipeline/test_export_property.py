"""Property: an export for any portal set S holds exactly the rows of S (with or without its
sub-portals) and never another portal's; every cell a spreadsheet could run is neutralised."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports.csv_safe import to_safe_csv
from pipelines.reports.export import bounced_addresses
from tests import sesdata as ses

# a -> a1 -> a11 -> a111 (three levels), a -> a2; b -> b1; c alone.
PARENT = {"a": "", "a1": "a", "a11": "a1", "a111": "a11", "a2": "a", "b": "", "b1": "b", "c": ""}
T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"
HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]


def subtree(root: str) -> set[str]:
    out, frontier = {root}, [root]
    while frontier:
        kids = [p for p, parent in PARENT.items() if parent in frontier]
        frontier = [k for k in kids if k not in out]
        out.update(frontier)
    return out


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scope")
    src, dirs = root / "ses", root / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\n"
                                      + "".join(f"{p},Portal {p},{q}\n" for p, q in PARENT.items()))
    users = [["user_id", "portal_id", "name", "email", "status", "upload_batch_id", "created_at"]]
    recs = []
    for n, portal in enumerate(PARENT):
        for i in range(2):  # two bounced learners per portal, one with a hostile name
            addr = f"u{i}@{portal}.example"
            name = HOSTILE[(n + i) % len(HOSTILE)] if i else f"Learner {portal}"
            users.append([f"{portal}{i}", portal, name, addr, "active", "b1", "2026-01-01T00:00:00Z"])
            recs += [ses.send(f"{portal}-{i}", addr, T0, portal=portal),
                     ses.bounce(f"{portal}-{i}", addr, T0, T1, portal=portal,
                                diagnostic="=cmd|' /C calc'!A0" if i else "smtp; 550 5.1.1 user unknown")]
    with (dirs / "users.csv").open("w", newline="") as f:
        csv.writer(f).writerows(users)
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    ses.write_object(src, "o", recs)
    path = root / "scope.duckdb"
    refresh(path, [LocalSource(src)], directory=dirs, quiet=True)
    return path


@settings(max_examples=40, deadline=None)
@given(chosen=st.sets(st.sampled_from(sorted(PARENT)), min_size=1, max_size=4), with_subs=st.booleans())
def test_export_holds_exactly_the_chosen_portals(db, chosen, with_subs):
    expected = set().union(*(subtree(p) for p in chosen)) if with_subs else set(chosen)
    with warehouse.reader(db) as con:
        frame = bounced_addresses(con, sorted(chosen), with_subs)
    assert set(frame["portal_id"]) == expected
    assert frame.height == 2 * len(expected)  # two bounced learners in every portal
    rows = list(csv.reader(io.StringIO(to_safe_csv(frame).decode("utf-8-sig"))))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    # Every portal has a learner whose diagnostic was "=cmd|...": it arrives, neutralised.
    diagnostics = [r[rows[0].index("diagnostic")] for r in rows[1:]]
    assert sum(d.startswith("'=cmd") for d in diagnostics) == len(expected)
