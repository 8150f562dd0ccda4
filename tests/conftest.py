"""Shared fixtures. Only fixtures live here; test helpers belong next to the tests that use them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from hypothesis import settings

from tests.support.served import free_port

# CI runs the same generated examples on every clean clone, so a run's verdict does not depend on
# the draw; HYPOTHESIS_PROFILE=explore draws new ones (how the glued-header bug was found).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


def pytest_addoption(parser):
    parser.addoption("--run-e2e", action="store_true", default=False,
                     help="also run the tests of real runtimes: the browser (marker e2e; needs Debian's "
                          "chromium) and Spark (marker spark; needs a Java 17 runtime)")


def pytest_collection_modifyitems(config, items):
    """The browser and Spark tests are opt-in: without --run-e2e they are skipped, saying how to run them.
    With it they run first: each is one long file, and spread over the cores (.ci/run) the suite ends
    sooner when the longest files start first."""
    if config.getoption("--run-e2e"):
        items.sort(key=lambda item: 0 if item.get_closest_marker("spark")
                   else 1 if item.get_closest_marker("e2e") else 2)
        return
    reasons = {"e2e": "real-browser test: opt in with --run-e2e (needs chromium; .ci/run does)",
               "spark": "Spark engine test: opt in with --run-e2e (needs a Java runtime; .ci/run does)"}
    for item in items:
        for marker, reason in reasons.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


# Straight to the local server, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    try:
        _DIRECT.open(url, timeout=0.5).close()
        return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """A local moto server (S3, SQS, ...) spoken to over real HTTP; yields its endpoint URL.

    Runs `python -m moto.server` from the installed package in a child process for the whole
    session. Tests should use `aws_env`, which also resets the server's state per test.
    """
    log_path = tmp_path_factory.mktemp("moto") / "moto_server.log"
    for _attempt in range(3):  # the free port can be taken between probe and bind
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline and not _answers(f"{url}/moto-api/"):
            time.sleep(0.05)
        if proc.poll() is None and _answers(f"{url}/moto-api/"):
            break
        proc.kill()
        proc.wait()
    else:
        tail = log_path.read_text(errors="replace")[-2000:]
        pytest.fail(f"moto server did not start; its log ends:\n{tail}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def aws_env(moto_server, monkeypatch, tmp_path) -> str:
    """Point boto3 (in this process and in child processes) at a freshly reset moto server.

    Clears whatever AWS settings the developer's shell or ~/.aws would add, so tests never reach
    a real account. Returns the endpoint URL.
    """
    _DIRECT.open(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10).close()
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"])))
    return moto_server


@pytest.fixture
def receiver():
    """A webhook receiver (tests/support/webhook.py) on a free local port, stopped after the test."""
    from tests.support.webhook import Receiver

    r = Receiver()
    yield r
    r.server.shutdown()
