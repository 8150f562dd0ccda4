"""Measured accuracy of parser + classifier on the labelled real bounce mails in tests/fixtures/dsn.

The same figures are what `bench/score_dsn.py` prints; the thresholds are the project's targets.
"""

from pathlib import Path

import pytest

from bench.score_dsn import score

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dsn"


@pytest.fixture(scope="module")
def figures() -> dict:
    return score(FIXTURES, with_flufl=False)


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
