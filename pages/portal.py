"""Portal: one portal's (or its roll-up's) trend, breakdowns, likely causes and bounced addresses."""

from datetime import date

import streamlit as st

from pipelines.dashboard import charts, data, ui

st.title("Portal")

qp = st.query_params
# Filters live in the URL (?portal=p004&rollup=1&kind=hard&since=2026-11-01) so a link can be shared.
if "rollup" not in st.session_state:
    st.session_state["rollup"] = qp.get("rollup") == "1"

f1, f2 = st.columns([3, 1])
with f1:
    portal_id = ui.portal_picker(key="portal")
if portal_id is None:
    st.info("No portals yet: load the LMS directory (`--directory`) or mail tagged with a portal id.")
    st.stop()
rollup = f2.toggle("Include sub-portals (roll-up)", key="rollup")

summary = data.portal_summary(portal_id=portal_id, rollup=rollup, window_days=30)
row = summary["status"]
if row is None:
    st.info("This portal has no status yet (nothing sent in the policy window).")
else:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Status", row["status"])
    m2.metric("Hard-bounce rate", f"{row['hard_rate']:.2%}" if row["hard_rate"] is not None else "—")
    m3.metric("Sends", f"{row['sent']:,}")
    m4.metric("Hard bounces", f"{row['hard_bounced']:,}")
    why = "figures include the sub-portals" if rollup else row["why"]
    st.caption(f"Deciding window {row['deciding_window']}: {why}.")

sentence = data.forecast_sentence(portal_id=portal_id, rollup=rollup)
if sentence:
    st.text(sentence)

st.subheader("Daily hard-bounce rate, last 30 days")
daily = summary["daily"]
if daily.is_empty():
    st.info("Nothing sent in the 30 days before the newest event.")
else:
    st.plotly_chart(charts.rate_figure(daily, summary["warning"], summary["cutoff"]), key="portal-daily")

st.subheader("Breakdowns, last 30 days")
tabs = st.tabs(["By reason", "By domain", "By upload batch", "By message type"])
for tab, dimension in zip(tabs, data.BREAKDOWNS, strict=True):
    with tab:
        ui.table(data.breakdown(dimension=dimension, portal_id=portal_id, rollup=rollup),
                 f"{portal_id}_by_{dimension}.csv", "Nothing sent in the 30 days before the newest event.")

st.subheader("Likely causes")
ui.table(data.portal_causes(portal_id=portal_id, rollup=rollup),
         f"{portal_id}_causes.csv",
         "No known cause found: no typo domains, placeholder or role addresses, refusing domains, "
         "bad upload batches or stale accounts.")

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
bounced = data.bounced(portal_id=portal_id, rollup=rollup, kind=kind, since=since)
if bounced.is_empty():
    st.info("No bounced addresses for these filters.")
else:
    st.dataframe(bounced, hide_index=True)
    ui.download(bounced, f"bounced_{portal_id}{'_rollup' if rollup else ''}_{kind}.csv", label="Export CSV",
                key="export-bounced")

params = {"portal": portal_id, "rollup": "1" if rollup else "0", "kind": kind}
if since:
    params["since"] = since.isoformat()
st.query_params.from_dict(params)
