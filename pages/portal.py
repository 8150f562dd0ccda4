"""Portal: one portal's (or its roll-up's) status and forecast first, then likely causes, then detail."""

from datetime import date

import streamlit as st

from pipelines.dashboard import charts, data, ui

ui.through_the_app()

st.title("Portal")

qp = st.query_params
# Filters live in the URL (?portal=p004&rollup=1&kind=hard&since=2026-11-01) so a link can be shared.
if "rollup" not in st.session_state:
    st.session_state["rollup"] = qp.get("rollup") == "1"

f1, f2 = st.columns([3, 1])
with f1:
    # Without a portal in the URL, the page opens on the one that most needs attention.
    portal_id = ui.portal_picker(key="portal", default=data.worst_portal())
if portal_id is None:
    st.info("No portals yet: load the LMS directory (`--directory`) or mail tagged with a portal id.")
    st.stop()
rollup = f2.toggle("Include sub-portals (roll-up)", key="rollup")
params = {"portal": portal_id, "rollup": "1" if rollup else "0"}

summary = data.portal_summary(portal_id=portal_id, rollup=rollup, window_days=30)
row = summary["status"]
if row is None:
    st.info("This portal has no status yet (nothing sent in the policy window).")
else:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Status", row["status"], delta=ui.status_label(row["status"]), delta_color="off",
              delta_arrow="off")
    m2.metric("Hard-bounce rate", f"{row['hard_rate']:.2%}" if row["hard_rate"] is not None else "—",
              delta=data.level_word(summary["rate_status"], summary["warning"], summary["cutoff"]),
              delta_color="off", delta_arrow="off")
    m3.metric("Sends", f"{row['sent']:,}")
    m4.metric("Hard bounces", f"{row['hard_bounced']:,}")
    why = "figures include the sub-portals" if rollup else row["why"]
    st.caption(f"Deciding window {row['deciding_window']}: {why}.")

sentence = data.forecast_sentence(portal_id=portal_id, rollup=rollup,
                                  status=row["status"] if row is not None else None)
if sentence:
    st.text(sentence)

st.subheader("Likely causes")
st.caption("Pick a cause to open its upload batch, or the addresses it names.")
cause = ui.table(data.portal_causes(portal_id=portal_id, rollup=rollup),
                 f"{portal_id}_causes.csv",
                 "No known cause found: no typo domains, placeholder or role addresses, refusing domains, "
                 "bad upload batches or stale accounts.",
                 show=["cause", "subject", "evidence", "evidence_unit", "rate", "baseline_rate", "example",
                       "suggestion"], key="portal-causes", select=True)
if cause:
    if cause["cause"] == "bad_upload_batch":
        st.switch_page("pages/batches.py",
                       query_params={"portal": cause["portal_id"], "batch": cause["subject"]})
    # A domain (typo, refusing) lists its addresses; a local part (role, placeholder) the same.
    subject = cause["subject"] or ""
    st.switch_page("pages/address.py", query_params={"q": subject if "@" in subject else f"@{subject}"})

st.subheader("Hard-bounce rate, last 30 days")
st.caption("By day of sending, the rolling-window rate the policy judges (dotted) and each upload batch on "
           "the day it was sent (triangles).")
daily = summary["daily"]
if daily.is_empty():
    st.info("Nothing sent in the 30 days before the newest event.")
else:
    st.plotly_chart(charts.rate_figure(daily, summary["warning"], summary["cutoff"], judged=summary["judged"],
                                       batches=summary["batches"]), key="portal-daily")

st.subheader("Breakdowns, last 30 days")
st.caption("Pick an upload batch or a domain to open it.")
BREAKDOWN_SHOW = ["key", "sent", "hard_bounced", "hard_rate", "share_of_hard_bounces", "soft_rate"]
# Only the open tab is read and drawn (a rerun when another is picked): the page answers sooner.
tabs = st.tabs(["By reason", "By domain", "By upload batch", "By message type"], key="breakdown",
               on_change="rerun")
for tab, dimension in zip(tabs, data.BREAKDOWNS, strict=True):
    if not tab.open:
        continue
    with tab:
        picked = ui.table(data.breakdown(dimension=dimension, portal_id=portal_id, rollup=rollup),
                          f"{portal_id}_by_{dimension}.csv",
                          "Nothing sent in the 30 days before the newest event.",
                          show=BREAKDOWN_SHOW, key=f"portal-by-{dimension}",
                          select=dimension in ("domain", "batch"))
        if picked and dimension == "batch":
            st.switch_page("pages/batches.py", query_params={"portal": portal_id, "batch": picked["key"]})
        if picked and dimension == "domain":
            st.switch_page("pages/address.py", query_params={"q": f"@{picked['key']}"})

st.subheader("Bounced addresses")
kinds = ["hard", "soft", "all"]
if "kind" not in st.session_state:
    st.session_state["kind"] = qp.get("kind") if qp.get("kind") in kinds else "all"
if "since" not in st.session_state:
    try:
        st.session_state["since"] = date.fromisoformat(qp.get("since", ""))
    except ValueError:
        st.session_state["since"] = None
b1, b2 = st.columns(2)
kind = b1.radio("Bounce type", kinds, key="kind", horizontal=True)
since = b2.date_input("Last bounce on or after (UTC)", key="since")
params["kind"] = kind
if since:
    params["since"] = since.isoformat()
st.query_params.from_dict(params)
bounced = data.bounced(portal_id=portal_id, rollup=rollup, kind=kind, since=since)
if not bounced.is_empty():
    st.caption("Pick an address to see its whole history.")
picked = ui.table(bounced, f"bounced_{portal_id}{'_rollup' if rollup else ''}_{kind}.csv",
                  "No bounced addresses for these filters.",
                  show=["email", "learner_name", "bounce_type", "reason", "last_bounce", "bounce_count",
                        "upload_batch_id", "recommended_action"],
                  key="portal-bounced", select=True, download_label="Export CSV",
                  download_key="export-bounced")
if picked:
    st.switch_page("pages/address.py", query_params={"q": picked["email"], "address": picked["email"]})
