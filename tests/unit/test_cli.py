"""The command line contract: one database rule, readable help, honest exit codes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli, warehouse
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
    assert set(rows[0]) == {"file", "recipient", "bounce", "reason", "status", "diagnostic", "evidence"}
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


# --- One exception -> exit-code map for every command (no database: the failure is faked) ---

BUSY = warehouse.DatabaseBusy("read: the database is held by another process; try again shortly")
LOCKED = warehouse.RefreshLocked("another refresh is running (pid 123); this one exits without changes.")


def _raise(exc: BaseException):
    def fake(*args, **kwargs):
        raise exc
    return fake


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("exc", "code", "line"), [
    (LOCKED, 75, f"error: {LOCKED}"),
    (BUSY, 75, f"error: {BUSY}"),
    (warehouse.DatabaseMissing("no database at x.duckdb"), 2,
     "error: no database at x.duckdb: run `python -m pipelines demo` or `python -m pipelines refresh`"),
    (warehouse.DatabaseOutdated("x.duckdb was built by an older bouncedesk"), 1,
     "error: x.duckdb was built by an older bouncedesk"),
    (ValueError("bad input"), 2, "error: bad input"),
    (cli.UsageError("bad flag"), 2, "error: bad flag"),
    (KeyboardInterrupt(), 1, "interrupted; nothing was published by the unfinished step"),
    (RuntimeError("boom\n  second line"), 1,
     "error: status failed, nothing published: RuntimeError: boom second line"),
    (FileNotFoundError("gone"), 1, "error: status failed, nothing published: FileNotFoundError: gone"),
])
def test_the_exit_map(exc, code, line):
    assert cli.exit_for("status", exc) == (code, line)


def test_failure_wording_kept_per_command():
    assert cli.exit_for("refresh", OSError("x"))[1] == "error: refresh failed, nothing published: OSError: x"
    assert cli.exit_for("demo", OSError("x"))[1] == "error: demo failed: OSError: x"
    assert cli.exit_for("rebuild", OSError("x"))[1] == (
        "error: rebuild failed, the database is unchanged: OSError: x")
    try:
        try:
            raise ValueError("bad row")
        except ValueError as inner:
            raise cli.StepFailed("bad row") from inner
    except cli.StepFailed as exc:
        assert cli.exit_for("refresh", exc) == (
            1, "error: refresh failed, nothing published: ValueError: bad row")


def _patch(monkeypatch, target: str, exc: BaseException):
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, _raise(exc))


# Each command, with what it calls that reaches the database (faked to fail).
COMMANDS = {
    "status": (["status"], "pipelines.reports.metrics.read_status"),
    "status --timeline": (["status", "--timeline"], "pipelines.warehouse.reader"),
    "project": (["project", "--portal", "p1", "--sends", "10", "--share", "0.1"],
                "pipelines.warehouse.reader"),
    "export": (["export", "bounced", "--portal", "p1", "--out", "{tmp}/x.csv"], "pipelines.warehouse.reader"),
    "forget": (["forget", "someone@example.org"], "pipelines.ingest.forget.forget"),
    "refresh": (["refresh", "-q", "--source", "{tmp}"], "pipelines.ingest.refresh.refresh"),
    "rebuild": (["rebuild", "-q"], "pipelines.ingest.refresh.rebuild"),
}


def _argv(command: str, tmp_path: Path) -> list[str]:
    argv, _ = COMMANDS[command]
    db = tmp_path / "d.duckdb"
    if command == "forget":
        db.touch()  # forget refuses a missing file before it calls forget(); the call is faked
    return [a.format(tmp=tmp_path) for a in argv] + ["--db", str(db)]


@pytest.mark.parametrize("busy", [BUSY, LOCKED], ids=["DatabaseBusy", "RefreshLocked"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_exits_75_with_one_line_when_busy(command, busy, monkeypatch, tmp_path, capsys):
    _patch(monkeypatch, COMMANDS[command][1], busy)
    assert cli.main(_argv(command, tmp_path)) == cli.EXIT_BUSY == 75
    out, err = capsys.readouterr()
    assert _one_error_line(err) == f"error: {busy}"
    assert out == ""


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unexpected_exception_exits_1_with_one_line_and_no_traceback(command, monkeypatch, tmp_path,
                                                                       capsys):
    _patch(monkeypatch, COMMANDS[command][1], RuntimeError("disk on fire\nat line 2"))
    assert cli.main(_argv(command, tmp_path)) == cli.EXIT_FAILED
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: ") and line.endswith("RuntimeError: disk on fire at line 2")
    assert "failed" in line


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_interrupt_exits_1_with_one_line(command, monkeypatch, tmp_path, capsys):
    _patch(monkeypatch, COMMANDS[command][1], KeyboardInterrupt())
    assert cli.main(_argv(command, tmp_path)) == cli.EXIT_FAILED
    assert _one_error_line(capsys.readouterr().err) == (
        "interrupted; nothing was published by the unfinished step")


@pytest.mark.parametrize("command", ["status", "status --timeline", "project", "export"])
def test_every_reader_without_a_database_says_what_to_run(command, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[command][0]] + ["--db", str(tmp_path / "none.duckdb")]
    assert cli.main(argv) == cli.EXIT_USAGE
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: no database at ") and "`python -m pipelines demo`" in line
    assert not (tmp_path / "none.duckdb").exists()


def test_forget_and_rebuild_without_a_database_are_usage_errors(tmp_path, capsys):
    db = str(tmp_path / "none.duckdb")
    assert cli.main(["forget", "someone@example.org", "--db", db]) == cli.EXIT_USAGE
    assert "no database at" in _one_error_line(capsys.readouterr().err)
    assert cli.main(["rebuild", "-q", "--db", db]) == cli.EXIT_USAGE
    assert "nothing to rebuild" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "none.duckdb").exists()


def test_an_outdated_database_exits_1_with_its_message(monkeypatch, tmp_path, capsys):
    _patch(monkeypatch, COMMANDS["status"][1], warehouse.DatabaseOutdated("built by an older bouncedesk"))
    assert cli.main(_argv("status", tmp_path)) == cli.EXIT_FAILED
    assert _one_error_line(capsys.readouterr().err) == "error: built by an older bouncedesk"


def test_bad_input_from_a_command_is_a_usage_error(monkeypatch, tmp_path, capsys):
    _patch(monkeypatch, COMMANDS["project"][1], ValueError("unknown portal id: p1"))
    assert cli.main(_argv("project", tmp_path)) == cli.EXIT_USAGE
    assert _one_error_line(capsys.readouterr().err) == "error: unknown portal id: p1"
    assert cli.main(["project", "--portal", "p1", "--share", "2"]) == cli.EXIT_USAGE
    assert "--share between 0 and 1" in _one_error_line(capsys.readouterr().err)
    assert cli.main(["status", "--as-of", "yesterday", "--db", str(tmp_path / "d.duckdb")]) == cli.EXIT_USAGE
    assert "yesterday" in _one_error_line(capsys.readouterr().err)


def test_a_value_error_inside_the_load_is_a_failure_not_a_usage_error(monkeypatch, tmp_path, capsys):
    # The arguments were fine: exit 1 with refresh's failure line, as before the map.
    _patch(monkeypatch, COMMANDS["refresh"][1], ValueError("bad gzip"))
    assert cli.main(_argv("refresh", tmp_path)) == cli.EXIT_FAILED
    assert _one_error_line(capsys.readouterr().err) == (
        "error: refresh failed, nothing published: ValueError: bad gzip")


SHARED = {
    "refresh": ("--db", "--policy", "--memory-limit", "--quiet"),
    "status": ("--db", "--policy", "--json", "--as-of"),
    "project": ("--db", "--policy", "--json", "--as-of"),
    "export": ("--db", "--policy"),
    "forget": ("--db",),
    "rebuild": ("--db", "--memory-limit", "--quiet"),
    "demo": ("--db", "--quiet"),
    "classify": ("--json",),
}


@pytest.mark.parametrize("command", list(SHARED))
def test_help_lists_the_shared_options(command, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for flag in SHARED[command]:
        assert flag in out, flag
    if "--quiet" in SHARED[command]:
        assert "-q, --quiet" in out


def test_shared_options_keep_their_defaults():
    parser = cli.build_parser()
    assert parser.parse_args(["rebuild"]).memory_limit == "1GB"
    refresh = parser.parse_args(["refresh"])
    assert (refresh.memory_limit, refresh.quiet, refresh.db, refresh.policy) == (None, False, None, None)
    status = parser.parse_args(["status"])
    assert (status.json, status.as_of, status.policy, status.db) == (False, None, None, None)
