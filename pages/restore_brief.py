"""Restore brief: why a portal bounced, what to do with its data, how to prevent it; as a document."""

import streamlit as st

from pipelines.dashboard import charts, data, ui

ui.through_the_app()

st.title("Restore brief")

judged = data.portals_with_status()
portal = ui.portal_picker("Portal (default: the worst by status)", key="brief_portal", among=judged["ids"],
                          default=judged["worst"])
if portal is None:
    st.info("No portal has mail on record yet: a brief needs a portal's sends and bounces.")
    st.stop()

page = data.restore_brief(portal_id=portal)
b = page["brief"]
st.text(page["status_line"])

c1, c2 = st.columns(2)
c1.download_button("Download brief (Markdown)", data=page["markdown"],
                   file_name=f"restore_brief_{portal}.md", mime="text/markdown", on_click="ignore",
                   key="brief_md")
c2.download_button("Download brief (printable HTML)", data=page["html"],
                   file_name=f"restore_brief_{portal}.html", mime="text/html", on_click="ignore",
                   key="brief_html")

st.subheader("Hard-bounce rate, last 90 days")
if b.daily.is_empty():
    st.info("No sends in the last 90 days of data.")
else:
    st.plotly_chart(charts.brief_daily(b.daily, b.warning, b.cutoff))

st.header("1. What caused the bounces")
c = b.cause_counts
m1, m2, m3 = st.columns(3)
m1.metric("Typo-domain addresses", c.get("typo_domain", 0))
m2.metric("Placeholder addresses", c.get("placeholder_address", 0))
m3.metric("Role addresses", c.get("role_account", 0))
ui.table(b.causes, f"causes_{portal}.csv", "No specific cause found: no typo, placeholder, role, refusing "
         "domain, bad batch or stale-account pattern.")
for dimension, title in (("batch", "Top upload batches"), ("domain", "Top recipient domains"),
                         ("reason", "Top bounce reasons")):
    st.subheader(title)
    top = b.top(dimension, 10)
    if not top.is_empty():
        st.plotly_chart(charts.top_hard_bounces(top, dimension))
    ui.table(top, f"top_{dimension}_{portal}.csv", f"No bounce by {dimension}.")

st.header("2. What to do with the existing data")
ui.table(b.actions, f"actions_{portal}.csv", "No bounced address: nothing to fix.")
st.subheader("Addresses to fix or deactivate")
ui.table(b.addresses, f"bounced_{portal}.csv", "No bounced address in this portal.",
         show=["email", "learner_name", "bounce_type", "reason", "last_bounce", "recommended_action"],
         download_key="brief_addresses", download_label="Download the address list (CSV for the customer)")

st.header("3. How to prevent it")
for i, step in enumerate(b.prevention, 1):
    st.text(f"{i}. {step}")
