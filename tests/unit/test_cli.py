"""The command line contract: one database rule, readable help, honest exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.config import DEFAULT_DB, load_config, resolve_db_path

REPO = Path(__file__).resolve().parents[2]


def test_db_path_rule(monkeypatch, tmp_path):
    monkeypatch.delenv("BOUNCEDESK_DB", raising=False)
    assert resolve_db_path() == DEFAULT_DB
    monkeypatch.setenv("BOUNCEDESK_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path() == tmp_path / "env.duckdb"
    assert resolve_db_path(tmp_path / "flag.duckdb") == tmp_path / "flag.duckdb"


def test_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "pipelines", "--help"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    for command in ("refresh", "demo"):
        assert command in out


def test_refresh_without_sources_is_a_usage_error(capsys):
    assert cli.main(["refresh", "--db", "unused.duckdb"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith("error: nothing to load")


def test_missing_source_folder_is_a_usage_error(capsys, tmp_path):
    code = cli.main(["refresh", "--source", str(tmp_path / "nope"), "--db", str(tmp_path / "d.duckdb")])
    assert code == cli.EXIT_USAGE
    assert "source folder does not exist" in capsys.readouterr().err


def test_refresh_prints_one_summary_line(capsys, tmp_path):
    fixtures = REPO / "tests" / "fixtures" / "ses"
    assert cli.main(["refresh", "-q", "--source", str(fixtures), "--db", str(tmp_path / "d.duckdb")]) == 0
    line = capsys.readouterr().out.strip()
    fields = dict(kv.split("=", 1) for kv in line.split())
    for key in ("objects_seen", "objects_new", "objects_failed", "records_loaded", "records_quarantined",
                "records_duplicate", "seconds"):
        assert key in fields
    # 26 files in tests/fixtures/ses besides SOURCES.md (which is skipped).
    assert fields["objects_seen"] == "26"


def test_config_file_lists_sources_relative_to_itself(tmp_path):
    (tmp_path / "exports").mkdir()
    cfg = tmp_path / "bouncedesk.toml"
    cfg.write_text(
        'sources = ["exports", "s3://b/p"]\ndirectory = "lms"\n[attribution]\nportal_tag = "tenant"\n'
    )
    loaded = load_config(cfg)
    assert loaded.sources == [str(tmp_path / "exports"), "s3://b/p"]
    assert loaded.directory == str(tmp_path / "lms")
    assert loaded.attribution.portal_tag == "tenant"


def test_config_file_with_unknown_key_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('sourcez = ["x"]\n')
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(cfg)


def test_classify_prints_one_record_per_recipient_and_changes_no_database(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("BOUNCEDESK_DB", str(tmp_path / "untouched.duckdb"))
    dsn = REPO / "tests" / "fixtures" / "dsn"
    out = subprocess.run([sys.executable, "-m", "pipelines", "classify", "--json", str(dsn / "001.eml"),
                          str(dsn / "003.eml")], cwd=REPO, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    # From tests/fixtures/dsn/expected.csv: 001 neko@example.co.jp hard userunknown 5.1.1,
    # 003 kijitora@example.com soft suspend 5.7.1.
    assert [(r["recipient"], r["bounce"], r["reason"], r["status"]) for r in rows] == [
        ("neko@example.co.jp", "hard", "userunknown", "5.1.1"),
        ("kijitora@example.com", "soft", "suspend", "5.7.1"),
    ]
    assert set(rows[0]) == {"file", "recipient", "bounce", "reason", "status", "diagnostic"}
    assert not (tmp_path / "untouched.duckdb").exists()


def test_classify_of_a_missing_file_is_a_usage_error(capsys):
    assert cli.main(["classify", "no/such.eml"]) == cli.EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_a_memory_limit_that_is_not_a_size_is_a_usage_error(capsys, tmp_path):
    code = cli.main(["refresh", "--source", str(tmp_path), "--db", str(tmp_path / "d.duckdb"),
                     "--memory-limit", "lots"])
    assert code == cli.EXIT_USAGE
    assert "memory limit 'lots' is not a size like 1GB" in capsys.readouterr().err
    assert not (tmp_path / "d.duckdb").exists()


def test_config_file_sets_the_refresh_memory_limit(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('memory_limit = "512MB"\n')
    assert load_config(cfg).memory_limit == "512MB"
    cfg.write_text('memory_limit = "half"\n')
    with pytest.raises(ValueError, match="not a size"):
        load_config(cfg)
