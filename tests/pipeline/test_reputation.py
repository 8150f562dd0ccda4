"""SES's own figures from CloudWatch, over real HTTP against the local moto server (`aws_env`).

Metric data is put on the server the way SES publishes it (namespace AWS/SES, no dimension, a fraction),
then read back through the code under test, pointed at the server by the standard AWS settings. Every
expected value below is one the test put there, not one read back from the code under test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from pipelines import cli, warehouse
from pipelines.config import load_config
from pipelines.ingest import reputation

REPO_ROOT = Path(__file__).resolve().parents[2]
SES_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "ses"
SECRET = "s3cr3t-never-printed"  # fake: the output must never show it
KEY_ID = "AKIANEVERPRINTED"


@pytest.fixture
def aws(aws_env, monkeypatch) -> str:
    """`aws_env` with credentials distinctive enough to look for in the output."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    return aws_env


def on_the_period(now: datetime) -> datetime:
    """`now` down to CloudWatch's 5-minute period, so a datapoint put there is measured exactly there."""
    return now.replace(microsecond=0) - timedelta(seconds=int(now.timestamp()) % reputation.PERIOD_SECONDS)


def put(metric: str, value: float, at: datetime, namespace: str = "AWS/SES") -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace, MetricData=[{"MetricName": metric, "Value": value, "Timestamp": at}])


def recorded(db: Path) -> list[tuple]:
    with warehouse.reader(db, views=False) as con:
        return con.execute("select metric, value, measured_at, region from _ses_reputation "
                           "order by metric, measured_at").fetchall()


def publish_history(now: datetime) -> dict[str, tuple[float, datetime]]:
    """What SES might have published; returns the latest of each metric in the last 24 hours."""
    base = on_the_period(now)
    put("Reputation.BounceRate", 0.5, base - timedelta(hours=30))  # before the 24 hours looked at
    put("Reputation.BounceRate", 0.031, base - timedelta(hours=3))
    put("Reputation.BounceRate", 0.0225, base - timedelta(hours=1))  # the latest: 2.25 %
    put("Reputation.ComplaintRate", 0.0004, base - timedelta(hours=2))  # the only one: 0.04 %
    put("Reputation.BounceRate", 0.9, base - timedelta(minutes=30), namespace="Custom/App")  # not SES's
    return {"Reputation.BounceRate": (0.0225, base - timedelta(hours=1)),
            "Reputation.ComplaintRate": (0.0004, base - timedelta(hours=2))}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)


def test_the_latest_datapoint_of_each_metric_is_recorded_once(aws, tmp_path):
    db = tmp_path / "r.duckdb"
    now = datetime.now(UTC)
    latest = publish_history(now)
    region, rows = reputation.fetch_and_record(db, now)
    assert region == "us-east-1"
    expected = [(m, v, at, "us-east-1") for m, (v, at) in sorted(latest.items())]
    assert [(r.metric, r.value, r.measured_at, r.region) for r in rows] == expected
    assert recorded(db) == expected
    # Fetched again: the same datapoints, recorded once.
    reputation.fetch_and_record(db, now + timedelta(seconds=1))
    assert recorded(db) == expected


def test_refresh_with_the_flag_records_the_figures_and_keeps_its_output(aws, tmp_path):
    latest = publish_history(datetime.now(UTC))
    bounce_at, complaint_at = latest["Reputation.BounceRate"][1], latest["Reputation.ComplaintRate"][1]
    plain = run_cli("refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(tmp_path / "plain.duckdb"))
    done = run_cli("refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(tmp_path / "r.duckdb"),
                   "--ses-reputation")
    assert (plain.returncode, done.returncode) == (0, 0), done.stderr
    # stdout is the refresh's contract: the same lines, the same keys, with or without the flag.
    keys = [[kv.split("=")[0] for kv in line.split()] for line in plain.stdout.splitlines()]
    assert [[kv.split("=")[0] for kv in line.split()] for line in done.stdout.splitlines()] == keys
    assert (plain.stderr, done.stderr) == ("", "")  # -q: a fetch that worked says nothing
    assert [(m, v, at) for m, v, at, _ in recorded(tmp_path / "r.duckdb")] == [
        ("Reputation.BounceRate", 0.0225, bounce_at), ("Reputation.ComplaintRate", 0.0004, complaint_at)]
    assert recorded(tmp_path / "plain.duckdb") == []  # without the flag, CloudWatch is not read


def test_the_config_key_does_what_the_flag_does(aws, tmp_path, capsys):
    publish_history(datetime.now(UTC))
    cfg = tmp_path / "refresh.toml"
    cfg.write_text(f'sources = ["{SES_FIXTURES}"]\nses_reputation = true\n')
    assert load_config(cfg).ses_reputation is True
    db = tmp_path / "r.duckdb"
    assert cli.main(["refresh", "--config", str(cfg), "--db", str(db)]) == cli.EXIT_OK
    err = capsys.readouterr().err
    # Not quiet: one line with the figures on stderr (stdout stays the refresh's).
    assert "ses_reputation: region=us-east-1 bounce_rate=0.0225 " in err
    assert "complaint_rate=0.0004 " in err
    assert len(recorded(db)) == 2


def test_a_config_value_that_is_not_a_boolean_is_refused(tmp_path):
    cfg = tmp_path / "refresh.toml"
    cfg.write_text('ses_reputation = "false"\n')
    with pytest.raises(ValueError, match="ses_reputation must be true or false"):
        load_config(cfg)
    cfg.write_text("sources = []\n")
    assert load_config(cfg).ses_reputation is False


def test_without_credentials_the_refresh_succeeds_records_nothing_and_says_why(aws, tmp_path, monkeypatch,
                                                                             capsys):
    publish_history(datetime.now(UTC))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    db = tmp_path / "r.duckdb"
    assert cli.main(["refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(db),
                     "--ses-reputation"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].startswith("load_id=1 ")  # the load itself committed
    assert err.strip().splitlines() == [
        "ses_reputation: nothing recorded: no AWS credentials found (environment, profile or instance role)"]
    assert recorded(db) == []


def test_an_unreachable_endpoint_does_not_fail_the_refresh(aws, tmp_path, monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    db = tmp_path / "r.duckdb"
    started = time.monotonic()
    assert cli.main(["refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(db),
                     "--ses-reputation"]) == cli.EXIT_OK
    assert time.monotonic() - started < 30
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"ses_reputation: nothing recorded: could not reach CloudWatch at {dead} " \
                   "(EndpointConnectionError)"
    assert recorded(db) == []


def test_no_datapoint_records_nothing_and_says_so(aws, tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    assert cli.main(["refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(db),
                     "--ses-reputation"]) == cli.EXIT_OK
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ses_reputation: nothing recorded: CloudWatch holds no SES reputation "
                           "datapoint for the account in us-east-1 in the last 24 hours")
    assert recorded(db) == []


def test_the_reputation_command_records_and_prints_the_figures(aws, tmp_path):
    import json

    latest = publish_history(datetime.now(UTC))
    db = tmp_path / "r.duckdb"
    assert run_cli("refresh", "-q", "--source", str(SES_FIXTURES), "--db", str(db)).returncode == 0
    done = run_cli("reputation", "--db", str(db))
    assert done.returncode == 0, done.stderr
    b_at, c_at = (f"{latest[m][1]:%Y-%m-%dT%H:%M:%SZ}" for m in ("Reputation.BounceRate",
                                                                   "Reputation.ComplaintRate"))
    assert done.stdout == (f"region=us-east-1 bounce_rate=0.0225 bounce_measured_at={b_at} "
                           f"complaint_rate=0.0004 complaint_measured_at={c_at}\n")
    as_json = run_cli("reputation", "--db", str(db), "--json")
    assert json.loads(as_json.stdout) == [
        {"metric": "Reputation.BounceRate", "value": 0.0225, "measured_at": b_at, "region": "us-east-1"},
        {"metric": "Reputation.ComplaintRate", "value": 0.0004, "measured_at": c_at, "region": "us-east-1"},
    ]
    assert len(recorded(db)) == 2  # run twice, recorded once
    for output in (done.stdout + done.stderr, as_json.stdout + as_json.stderr):
        assert SECRET not in output and KEY_ID not in output


def test_the_reputation_command_exits_1_when_access_is_refused(aws, tmp_path, monkeypatch, capsys):
    db = tmp_path / "r.duckdb"
    with warehouse.writer(db):
        pass
    client = boto3.client("cloudwatch")
    stub = Stubber(client)
    stub.add_client_error("get_metric_data", service_error_code="AccessDenied", http_status_code=403,
                          service_message=f"User with key {KEY_ID} is not authorized")
    stub.activate()
    monkeypatch.setattr(reputation, "cloudwatch_client", lambda: client)
    assert cli.main(["reputation", "--db", str(db)]) == cli.EXIT_FAILED
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        "error: reputation failed, nothing recorded: ReputationUnavailable: access to CloudWatch refused "
        "(AccessDenied): the credentials need cloudwatch:GetMetricData"]
    assert KEY_ID not in err and SECRET not in err  # AWS's own message (it may name the key) is not shown


def test_the_reputation_command_without_credentials_or_database(aws, tmp_path, monkeypatch, capsys):
    assert cli.main(["reputation", "--db", str(tmp_path / "none.duckdb")]) == cli.EXIT_USAGE
    assert "no database at" in capsys.readouterr().err
    db = tmp_path / "r.duckdb"
    with warehouse.writer(db):
        pass
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert cli.main(["reputation", "--db", str(db)]) == cli.EXIT_FAILED
    assert capsys.readouterr().err.strip() == (
        "error: reputation failed, nothing recorded: ReputationUnavailable: no AWS credentials found "
        "(environment, profile or instance role)")
