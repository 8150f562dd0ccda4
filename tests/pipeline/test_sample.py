"""The committed sample in data/ loads as documented in data/README.md."""

from pathlib import Path

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.reports import metrics

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def test_the_committed_sample_loads_with_its_planted_defects(tmp_path):
    db = tmp_path / "sample.duckdb"
    summary = refresh(db, [LocalSource(SAMPLE / "ses")], directory=SAMPLE / "directory", quiet=True)
    # One truncated object's cut record is quarantined; one redelivered record counts once.
    assert summary.records_quarantined == 1 and summary.records_duplicate >= 1
    with warehouse.reader(db) as con:
        status = {r["portal_id"]: r["status"] for r in metrics.status_table(con).to_dicts()}
    assert status["p004"] == "disabled"  # the demo's portal over the cutoff, mail switched off
