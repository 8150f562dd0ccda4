"""Overview: what is loaded and how fresh it is."""

import plotly.express as px
import streamlit as st

from pipelines import ui

st.title("Overview")
fresh = ui.guarded(ui.read, "freshness").row(0, named=True)
c1, c2, c3 = st.columns(3)
c1.metric("Recipient events", f"{fresh['events']:,}")
c2.metric("Newest event (UTC)", f"{fresh['newest_event']:%Y-%m-%d %H:%M}" if fresh["newest_event"] else "—")
c3.metric("Last refresh (UTC)", f"{fresh['last_refresh']:%Y-%m-%d %H:%M}" if fresh["last_refresh"] else "—")

counts = ui.guarded(ui.read, "event_counts")
if counts.is_empty():
    st.info("No events loaded yet. Run `python -m pipelines refresh --source <folder or s3://...>`.")
else:
    fig = px.bar(counts, x="event_type", y="events", hover_data=["attributed"],
                 labels={"event_type": "Event type", "events": "Recipient events"})
    st.plotly_chart(fig)
    ui.table(counts, "event_counts.csv", "No events loaded yet.")
