"""Alerts on status changes at refresh, and the `status` command's contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines import cli as cli_mod
from pipelines import warehouse
from tests import sesdata as ses
from tests.sql.test_rates_status import POLICY, write_directory

REPO = Path(__file__).resolve().parents[2]
IN, LATER = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True,
                          text=True)


def test_a_portal_crossing_into_approaching_is_alerted_once(tmp_path):
    src, db, policy = tmp_path / "ses", tmp_path / "d.duckdb", tmp_path / "policy.toml"
    policy.write_text(POLICY)
    directory = write_directory(tmp_path / "dir")
    ses.write_object(src, "1", [ses.send(f"m{i}", f"d{i}@z.example", IN, portal="p2") for i in range(20)])
    first = cli("refresh", "-q", "--source", str(src), "--directory", str(directory), "--db", str(db),
                "--policy", str(policy))
    assert first.returncode == 0, first.stderr
    # 20 sends, no bounce: ok, and a first "ok" is not news.
    assert not [x for x in first.stdout.splitlines() if x.startswith("alert ")]
    assert "alerts=0" in first.stdout
    ses.write_object(src, "2", [ses.bounce("m0", "d0@z.example", IN, LATER, portal="p2")])
    second = cli("refresh", "-q", "--source", str(src), "--db", str(db), "--policy", str(policy))
    # 1 hard of 20 = 5 % >= warning 5 %: approaching, alone and rolled up (p2 has no sub-portals).
    alerts = [line for line in second.stdout.splitlines() if line.startswith("alert ")]
    assert alerts == [
        "alert portal_id=p2 scope=alone from=ok to=approaching hard_rate=0.0500 sent=20",
        "alert portal_id=p2 scope=rollup from=ok to=approaching hard_rate=0.0500 sent=20",
    ]
    third = cli("refresh", "-q", "--source", str(src), "--db", str(db), "--policy", str(policy))
    assert not [x for x in third.stdout.splitlines() if x.startswith("alert ")]
    with warehouse.reader(db) as con:
        assert con.execute("select portal_id, from_status, to_status from _alerts where scope = 'alone'"
                           ).fetchall() == [("p2", "ok", "approaching")]


def test_status_json_fields_and_table(tmp_path):
    src, db, policy = tmp_path / "ses", tmp_path / "d.duckdb", tmp_path / "policy.toml"
    policy.write_text(POLICY)
    directory = write_directory(tmp_path / "dir")
    ses.write_object(src, "1", [ses.send(f"m{i}", f"d{i}@z.example", IN, portal="p1a") for i in range(4)]
                     + [ses.bounce("m0", "d0@z.example", IN, LATER, portal="p1a")])
    assert cli("refresh", "-q", "--source", str(src), "--directory", str(directory), "--db", str(db)
               ).returncode == 0
    out = cli("status", "--json", "--db", str(db), "--policy", str(policy), "--as-of", "2026-11-30T00:00:00Z")
    rows = {r["portal_id"]: r for r in json.loads(out.stdout)}
    for field in ("portal_id", "name", "parent_portal_id", "sent", "hard_bounced", "hard_rate",
                  "soft_bounced", "complaints", "complaint_rate", "status", "rollup_sent",
                  "rollup_hard_bounced", "rollup_hard_rate", "rollup_status"):
        assert field in rows["p1a"]
    # p1a: 4 sent, 1 hard = 25 % -> exceeded; p1 alone sent nothing (insufficient) but its roll-up
    # holds p1a's 4 sends and 1 hard -> exceeded.
    assert (rows["p1a"]["sent"], rows["p1a"]["hard_bounced"], rows["p1a"]["status"]) == (4, 1, "exceeded")
    assert (rows["p1"]["status"], rows["p1"]["rollup_sent"], rows["p1"]["rollup_status"]) == (
        "insufficient_volume", 4, "exceeded")
    table = cli("status", "--db", str(db), "--policy", str(policy), "--as-of", "2026-11-30T00:00:00Z").stdout
    assert table.splitlines()[0].split()[:3] == ["portal", "status", "sent"]
    assert table.splitlines()[1].split()[:2] == ["p4", "disabled"] or "exceeded" in table.splitlines()[1]


def test_status_without_a_database_says_what_to_run(tmp_path):
    out = cli("status", "--db", str(tmp_path / "none.duckdb"))
    assert out.returncode == 2 and "python -m pipelines demo" in out.stderr


def test_timeline_and_project_commands(tmp_path):
    src, db, policy = tmp_path / "ses", tmp_path / "d.duckdb", tmp_path / "policy.toml"
    policy.write_text(POLICY)
    directory = write_directory(tmp_path / "dir")
    # p2: 20 sends on 11-20, one hard bounce: 1/20 = 5 % from that day on.
    ses.write_object(src, "1", [ses.send(f"m{i}", f"d{i}@z.example", IN, portal="p2") for i in range(20)]
                     + [ses.bounce("m0", "d0@z.example", IN, LATER, portal="p2")])
    assert cli("refresh", "-q", "--source", str(src), "--directory", str(directory), "--db", str(db)
               ).returncode == 0
    out = cli("status", "--timeline", "--changes", "--portal", "p2", "--since", "2026-11-18",
              "--until", "2026-11-22", "--db", str(db), "--policy", str(policy))
    lines = out.stdout.splitlines()
    assert lines[0] == "portal_id,day,from_status,to_status,hard_rate"
    # Before 11-20 nothing was sent (insufficient); on 11-20 the window holds 20 sends, 1 hard.
    assert [line.split(",")[1:4] for line in lines[1:]] == [
        ["2026-11-20", "insufficient_volume", "approaching"]]
    plan = json.loads(cli("project", "--json", "--portal", "p2", "--sends", "20", "--share", "0.5",
                          "--db", str(db), "--policy", str(policy)).stdout)
    # 20 more sends, 10 of them hard: (1 + 10) / (20 + 20) = 27.5 % -> exceeded.
    assert (plan["projected_status"], plan["expected_hard_bounces"]) == ("exceeded", 10)
    assert plan["projected_hard_rate"] == 11 / 40


def test_refresh_prints_one_summary_line(capsys, tmp_path):
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "ses"
    assert cli_mod.main(["refresh", "-q", "--source", str(fixtures), "--db", str(tmp_path / "d.duckdb")]) == 0
    line = capsys.readouterr().out.strip()
    fields = dict(kv.split("=", 1) for kv in line.split())
    for key in ("objects_seen", "objects_new", "objects_failed", "records_loaded", "records_quarantined",
                "records_duplicate", "seconds"):
        assert key in fields
    # 26 files in tests/fixtures/ses besides SOURCES.md (which is skipped).
    assert fields["objects_seen"] == "26"
