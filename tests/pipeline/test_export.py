"""The customer export of bounced addresses: exact portal scope, filters, injection-safe CSV, CLI contract."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import export
from tests import sesdata as ses

REPO = Path(__file__).resolve().parents[2]
HEADER = ["learner_name", "email", "portal_id", "user_status", "bounce_type", "reason", "diagnostic",
          "first_bounce", "last_bounce", "bounce_count", "upload_batch_id", "recommended_action"]


def at(day: int, hour: int = 10, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00.000Z"


def bounced(mid: str, to: str, day: int, portal: str | None, minute: int = 1, **kw) -> list[dict]:
    return [ses.send(mid, to, at(day), portal),
            ses.bounce(mid, to, at(day), at(day, 10, minute), portal, **kw)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    folder = tmp_path / "ses"
    ses.write_object(folder, "2026/11/30/00/all", [
        # p1: hl@ hard-bounced twice (days 2 and 3); sf@ soft-bounced on day 5; dl@ was delivered.
        *bounced("m1", "hl@p1.example", 2, "p1"), *bounced("m2", "hl@p1.example", 3, "p1"),
        *bounced("m3", "sf@p1.example", 5, "p1", btype="Transient", subtype="MailboxFull", status="5.2.2",
                 diagnostic="-ERR 552 mailbox over quota"),
        ses.send("m4", "dl@p1.example", at(2), "p1"),
        ses.delivery("m4", "dl@p1.example", at(2), at(2, 11), "p1"),
        # p1a (below p1): one hard bounce whose diagnostic starts with '@'.
        *bounced("m5", "a1@p1a.example", 4, "p1a", diagnostic="@mx.p1a.example: 550 5.1.1 no such user"),
        # p1b (below p1a, two levels under p1): one soft bounce.
        *bounced("m6", "b1@p1b.example", 4, "p1b", btype="Transient", subtype="MailboxFull", status="4.2.2",
                 diagnostic="smtp; 452 4.2.2 mailbox full"),
        # p2 (unrelated) and unattributed mail: must never leak into a p1 export.
        *bounced("m7", "z@p2.example", 4, "p2"),
        *bounced("m8", "n@none.example", 4, None),
        # p3: delivered only, nothing bounced.
        ses.send("m9", "ok@p3.example", at(2), "p3"),
        ses.delivery("m9", "ok@p3.example", at(2), at(2, 11), "p3"),
    ])
    dirs = tmp_path / "dir"
    dirs.mkdir()
    (dirs / "portals.csv").write_text("portal_id,name,parent_portal_id\n"
                                      "p1,One,\np1a,One A,p1\np1b,One B,p1a\np2,Two,\np3,Three,\n")
    (dirs / "users.csv").write_text(
        "user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
        'u1,p1,"=HYPERLINK(""http://x"")",HL@p1.example,active,b1,2026-01-01T00:00:00Z\n'
        "u2,p1,Zoë Müller,sf@p1.example,deactivated,,2026-01-01T00:00:00Z\n"
    )
    (dirs / "batches.csv").write_text("batch_id,portal_id,uploaded_at,filename,rows\n")
    path = tmp_path / "d.duckdb"
    refresh(path, [LocalSource(folder)], directory=dirs, quiet=True)
    return path


def rows(db: Path, portals, with_subportals=False, since=None, kind="all"):
    with warehouse.reader(db) as con:
        return export.bounced_addresses(con, portals, with_subportals, since, kind)


def emails(df) -> list[str]:
    return df["email"].to_list()


def test_columns_and_one_row_per_bounced_address(db):
    df = rows(db, ["p1"])
    assert df.columns == HEADER
    # p1 has 3 addresses; dl@ never bounced, so 2 rows, sorted by portal then email.
    assert emails(df) == ["hl@p1.example", "sf@p1.example"]
    hl = df.row(0, named=True)
    assert hl == {
        "learner_name": '=HYPERLINK("http://x")', "email": "hl@p1.example", "portal_id": "p1",
        "user_status": "active", "bounce_type": "hard", "reason": "userunknown",
        "diagnostic": "smtp; 550 5.1.1 user unknown",
        # Bounces at 10:01 on days 2 and 3 (UTC): 2 bounces.
        "first_bounce": "2026-11-02T10:01:00Z", "last_bounce": "2026-11-03T10:01:00Z", "bounce_count": 2,
        "upload_batch_id": "b1", "recommended_action": "deactivate",
    }
    sf = df.row(1, named=True)
    got = (sf["bounce_type"], sf["reason"], sf["bounce_count"], sf["user_status"], sf["recommended_action"])
    assert got == ("soft", "mailboxfull", 1, "deactivated", "none")


def test_scope_is_exact_with_and_without_subportals(db):
    # Alone: only p1's own rows.
    assert set(rows(db, ["p1"])["portal_id"]) == {"p1"}
    # With sub-portals: p1 + p1a + p1b (two levels deep), never p2 nor the unattributed mail.
    df = rows(db, ["p1"], with_subportals=True)
    assert emails(df) == ["hl@p1.example", "sf@p1.example", "a1@p1a.example", "b1@p1b.example"]
    assert "z@p2.example" not in emails(df) and "n@none.example" not in emails(df)
    # A sub-portal alone does not bring in its parent.
    assert emails(rows(db, ["p1a"], with_subportals=True)) == ["a1@p1a.example", "b1@p1b.example"]
    # Two portals asked for: both, nothing else.
    assert set(rows(db, ["p2", "p1b"])["portal_id"]) == {"p2", "p1b"}


def test_kind_and_since_filters(db):
    scope = ["p1"]
    assert emails(rows(db, scope, kind="hard")) == ["hl@p1.example"]
    assert emails(rows(db, scope, kind="soft")) == ["sf@p1.example"]
    # hl@'s last bounce is on day 3, sf@'s on day 5: since day 4 keeps sf@ only; a naive time is UTC.
    assert emails(rows(db, scope, since=datetime(2026, 11, 4, tzinfo=UTC))) == ["sf@p1.example"]
    assert emails(rows(db, scope, since=datetime(2026, 11, 3, 10, 1))) == ["hl@p1.example", "sf@p1.example"]
    assert emails(rows(db, scope, since=datetime(2026, 11, 6, tzinfo=UTC))) == []
    with pytest.raises(ValueError, match="kind must be one of"):
        rows(db, scope, kind="bouncy")


def test_unknown_portal_is_refused(db):
    with pytest.raises(export.UnknownPortal, match=r"unknown portal id: nope .*python -m pipelines status"):
        rows(db, ["p1", "nope"])


def test_csv_is_neutralised_utf8_with_bom(db):
    data = export.to_csv(rows(db, ["p1"], with_subportals=True))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == HEADER
    by_email = {r[1]: dict(zip(HEADER, r, strict=True)) for r in table[1:]}
    assert by_email["hl@p1.example"]["learner_name"] == "'=HYPERLINK(\"http://x\")"
    assert by_email["sf@p1.example"]["diagnostic"] == "'-ERR 552 mailbox over quota"
    assert by_email["a1@p1a.example"]["diagnostic"] == "'@mx.p1a.example: 550 5.1.1 no such user"
    assert by_email["sf@p1.example"]["learner_name"] == "Zoë Müller"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "export", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_cli_end_to_end(db, tmp_path):
    out = tmp_path / "p1.csv"
    r = cli("bounced", "--portal", "p1", "--with-subportals", "--db", str(db), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"rows=4 out={out} portals=p1,p1a,p1b"
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0] == HEADER and len(table) == 5

    r = cli("bounced", "--portal", "p1", "--kind", "soft", "--since", "2026-11-04", "--db", str(db),
            "--out", str(out))
    assert (r.returncode, r.stdout.strip()) == (0, f"rows=1 out={out} portals=p1")


def test_cli_unknown_portal_exits_2_with_one_line(db, tmp_path):
    out = tmp_path / "x.csv"
    r = cli("bounced", "--portal", "nope", "--db", str(db), "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "unknown portal id: nope" in r.stderr and "python -m pipelines status" in r.stderr
    assert r.stdout == "" and not out.exists()


def test_cli_portal_without_bounces_writes_only_the_header(db, tmp_path):
    out = tmp_path / "p3.csv"
    r = cli("bounced", "--portal", "p3", "--db", str(db), "--out", str(out))
    assert (r.returncode, r.stdout.strip()) == (0, f"rows=0 out={out} portals=p3")
    assert out.read_bytes().decode("utf-8") == "\ufeff" + ",".join(HEADER) + "\n"


def test_cli_usage_errors(db, tmp_path):
    out = str(tmp_path / "x.csv")
    bad_since = cli("bounced", "--portal", "p1", "--since", "last tuesday", "--db", str(db), "--out", out)
    assert bad_since.returncode == 2 and "not an ISO 8601" in bad_since.stderr
    assert cli("bounced", "--db", str(db), "--out", out).returncode == 2  # no --portal
    assert cli("everything", "--portal", "p1", "--db", str(db), "--out", out).returncode == 2
    r = cli("bounced", "--portal", "p1", "--db", str(tmp_path / "none.duckdb"), "--out", out)
    assert r.returncode == 2 and "no database" in r.stderr


def test_reads_on_an_open_connection_match(db):
    with warehouse.reader(db) as con:
        assert export.scope(con, ["p1", "p1"], True).portals == ["p1", "p1a", "p1b"]
        assert export.bounced_addresses(con, ["p1"], False, None, "all").height == 2
