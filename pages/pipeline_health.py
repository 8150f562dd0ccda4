"""Pipeline health: refresh runs, quarantined input and unattributed events."""

import streamlit as st

from pipelines import ui

st.title("Pipeline health")
st.caption("Refresh command for a scheduler: "
           "`python -m pipelines refresh --source s3://bucket/prefix --directory exports/`")

st.subheader("Refresh runs")
ui.table(ui.guarded(ui.read, "loads", limit=200), "refresh_runs.csv", "No refresh has run yet.")

st.subheader("Quarantined input")
ui.table(ui.guarded(ui.read, "quarantine", limit=5000), "quarantine.csv",
         "Nothing quarantined: every record read so far was well-formed.")

st.subheader("Unattributed events")
ui.table(ui.guarded(ui.read, "unattributed", limit=500), "unattributed.csv",
         "Every event has a portal (from its tags, a header, its Send event or the directory).")
