from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    """The AWS sample records loaded by the real loader."""
    db = tmp_path_factory.mktemp("appdb") / "app.duckdb"
    refresh(db, [LocalSource(FIXTURES)], quiet=True)
    return db


@pytest.fixture(autouse=True)
def app_env(fixture_db, monkeypatch):
    # Streamlit's caches are process-wide: clear them so each test sees its own database.
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("BOUNCEDESK_DB", str(fixture_db))
    yield
    st.cache_data.clear()
