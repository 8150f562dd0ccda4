from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from tests import sesdata as ses

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    """The AWS sample records loaded by the real loader."""
    db = tmp_path_factory.mktemp("appdb") / "app.duckdb"
    refresh(db, [LocalSource(FIXTURES)], quiet=True)
    return db


D1, D2, D3 = "2026-11-18T09:00:00.000Z", "2026-11-19T09:00:00.000Z", "2026-11-20T09:00:00.000Z"


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    """Five portals whose every figure can be worked out by hand (default policy: one 30-day window,
    judged from 100 sends, hard bounces 5 % warning / 10 % cutoff, complaints 0.1 % / 0.5 %).

    directory  p1 North; p1a North Annex (child of p1); p2 South (mail switched off); p3 West.
               p4 is named only by mail ("p4 — (not in the directory)").
    batches    b1 (p1a, 60 rows), b2 (p1a, 50 rows), b3 (p3, 100 rows).

    day        portal  sends                                     bounces
    11-18 (D1) p1      95 n0..n94@north.org, 5 r0..r4@fabrikam    hard n0..n3; soft r0..r4 (5.7.1 content
                                                                  refused: fabrikam refuses 5 of 5 sends)
    11-18      p2      5 s0..s4@south.org                         hard s0
    11-19 (D2) p1a     b1: 50 = g0..g2@gmial.com, h0@hotmial.com, hard g0..g2, h0, a0..a5 (10)
                           a0..a45@annex.org
                       b2: 50 c0..c49@annex.org                   hard c0, c1 (2)
    11-19      p2      5 s5..s9@south.org                         -
    11-20 (D3) p3      b3: 100 = y0, y1@yaho.com, w0..w97@west.org hard y0, y1, w0..w3 (6) -- second refresh
    11-20      p4      20 e0..e19@east.org                        e0 complains

    Two refreshes: the first loads everything but p3's bounces (p3 is ok: 0 of 100), the second loads
    those six (p3 becomes approaching, the only status change that refresh records). The newest event
    is a bounce at D3 09:05, so every send is inside the 30 days before it.
    """
    root = tmp_path_factory.mktemp("tinydb")
    src, directory, db = root / "ses", root / "dir", root / "tiny.duckdb"
    directory.mkdir()
    (directory / "portals.csv").write_text(
        "portal_id,name,parent_portal_id,email_enabled\n"
        "p1,North,,true\np1a,North Annex,p1,true\np2,South,,false\np3,West,,true\n")
    (directory / "users.csv").write_text("user_id,portal_id,name,email,status,upload_batch_id,created_at\n")
    (directory / "batches.csv").write_text(
        "batch_id,portal_id,uploaded_at,filename,rows\n"
        "b1,p1a,2026-11-18T12:00:00Z,annex-nov.csv,60\n"
        "b2,p1a,2026-11-18T13:00:00Z,annex-dec.csv,50\n"
        "b3,p3,2026-11-19T12:00:00Z,west.csv,100\n")

    def later(day: str) -> str:
        return day.replace("T09:00:00", "T09:05:00")

    def sends(portal: str, day: str, to: list[str], batch: str | None = None) -> list[dict]:
        return [ses.send(f"{portal}-{a}", a, day, portal=portal, batch=batch) for a in to]

    def hard(portal: str, day: str, to: list[str]) -> list[dict]:
        return [ses.bounce(f"{portal}-{a}", a, day, later(day), portal=portal) for a in to]

    def refused(portal: str, day: str, to: list[str]) -> list[dict]:
        return [ses.bounce(f"{portal}-{a}", a, day, later(day), portal=portal, btype="Transient",
                           subtype="ContentRejected", status="5.7.1",
                           diagnostic="smtp; 550 5.7.1 Message content rejected by policy") for a in to]

    north = [f"n{i}@north.org" for i in range(95)]
    fabrikam = [f"r{i}@fabrikam.com" for i in range(5)]
    b1_dead = ["g0@gmial.com", "g1@gmial.com", "g2@gmial.com", "h0@hotmial.com",
               *[f"a{i}@annex.org" for i in range(6)]]
    b1 = [*b1_dead, *[f"a{i}@annex.org" for i in range(6, 46)]]
    b2 = [f"c{i}@annex.org" for i in range(50)]
    south = [f"s{i}@south.org" for i in range(10)]
    west_dead = ["y0@yaho.com", "y1@yaho.com", *[f"w{i}@west.org" for i in range(4)]]
    west = [*west_dead, *[f"w{i}@west.org" for i in range(4, 98)]]
    east = [f"e{i}@east.org" for i in range(20)]
    complaint = ses.send("p4-e0@east.org", "e0@east.org", D3, portal="p4")
    complaint["eventType"] = "Complaint"
    del complaint["send"]
    complaint["complaint"] = {"complainedRecipients": [{"emailAddress": "e0@east.org"}],
                              "timestamp": later(D3), "feedbackId": "c-e0", "complaintFeedbackType": "abuse"}
    ses.write_object(src, "2026/11/20/10/first", [
        *sends("p1", D1, north + fabrikam), *hard("p1", D1, north[:4]), *refused("p1", D1, fabrikam),
        *sends("p1a", D2, b1, batch="b1"), *sends("p1a", D2, b2, batch="b2"),
        *hard("p1a", D2, b1_dead), *hard("p1a", D2, b2[:2]),
        *sends("p2", D1, south[:5]), *sends("p2", D2, south[5:]), *hard("p2", D1, south[:1]),
        *sends("p3", D3, west, batch="b3"),
        *sends("p4", D3, east), complaint,
    ])
    refresh(db, [LocalSource(src)], directory=directory, quiet=True)
    ses.write_object(src, "2026/11/20/11/second", hard("p3", D3, west_dead))
    refresh(db, [LocalSource(src)], quiet=True)
    return db


@pytest.fixture(autouse=True)
def app_env(fixture_db, monkeypatch):
    # Streamlit's caches are process-wide: clear them so each test sees its own database.
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("BOUNCEDESK_DB", str(fixture_db))
    yield
    st.cache_data.clear()
