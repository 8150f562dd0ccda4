"""Text from bounce mails and the directory (diagnostics, names) is shown as text, never rendered."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from tests import sesdata as ses

REPO = Path(__file__).resolve().parents[2]
EVIL = "<script>alert(1)</script> **bold** [click](http://evil.example) <img src=x onerror=alert(2)>"
T0, T1 = "2026-11-20T10:00:00.000Z", "2026-11-20T10:00:05.000Z"


def test_hostile_diagnostic_is_shown_verbatim_and_never_as_markdown(tmp_path, monkeypatch):
    src = tmp_path / "ses"
    ses.write_object(src, "o", [ses.send("m1", "victim@a.example", T0),
                                ses.bounce("m1", "victim@a.example", T0, T1, diagnostic=EVIL)])
    db = tmp_path / "d.duckdb"
    refresh(db, [LocalSource(src)], quiet=True)
    monkeypatch.setenv("BOUNCEDESK_DB", str(db))
    st.cache_data.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
    at.query_params["q"] = "victim"
    at.run()
    at.switch_page("pages/address.py").run()
    assert not at.exception
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any("<script>" in r or "onerror" in r for r in rendered)
    shown = "".join(str(df.value.to_dict()) for df in at.dataframe)
    assert EVIL in shown  # the diagnostic is there, as data


def test_no_page_renders_html():
    for page in [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]:
        assert not re.search(r"unsafe_allow_html\s*=\s*True", page.read_text()), page


HOSTILE_PARAMS = {
    "portal": "p004' or '1'='1", "q": "%'; drop table fct_recipient_events; --", "batch": "b1\" or 1=1 --",
    "kind": "hard' --", "since": "2026-01-01'; select 1; --", "rollup": "1 or 1=1", "address": "' or ''='",
}


def test_every_page_takes_hostile_url_parameters_without_error(fixture_db):
    from pipelines import warehouse

    with warehouse.reader(fixture_db) as con:
        before = con.execute("select count(*) from fct_recipient_events").fetchall()
    for page in sorted(p for p in (REPO / "pages").glob("*.py") if p.name != "__init__.py"):
        st.cache_data.clear()
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=30)
        for key, value in HOSTILE_PARAMS.items():
            at.query_params[key] = value
        at.run()
        at.switch_page(f"pages/{page.name}").run()
        assert not at.exception, (page.name, at.exception)
    with warehouse.reader(fixture_db) as con:
        assert con.execute("select count(*) from fct_recipient_events").fetchall() == before
