"""Pipeline health: refresh runs, quarantined input, unattributed events, objects read."""

import streamlit as st

from pipelines.dashboard import charts, data, ui

ui.through_the_app()

st.title("Pipeline health")
fresh = data.freshness()
served = data.served_from_lake(fresh)
if served:
    st.info(served, icon=":material/cloud:")
    st.caption("To bring it up to date, after the database the lake comes from was refreshed and exported:")
    st.code(data.remake_command(fresh), language="bash")
else:
    st.caption("Refresh command for a scheduler (cron, systemd timer), safe to run every few minutes:")
    st.code("python -m pipelines refresh --source s3://bucket/prefix --directory exports/", language="bash")

st.subheader("Refresh runs")
ui.table(data.refresh_runs(limit=200), "refresh_runs.csv", "No refresh has run yet.")

st.subheader("Alert channels")
channels = data.channel_health()
ui.table(channels, "alert_channels.csv",
         "No alert channel has run yet. Add `[[alerts.channels]]` (webhook, sns or email) to the refresh "
         "config: alerts are then delivered after every refresh.",
         show=["channel", "kind", "last_delivered_at", "failing_last_day", "retrying", "undeliverable",
               "last_error"])
if not channels.is_empty():
    if channels["undeliverable"].sum():
        st.warning("Some alerts were given up on after their channel's max_attempts: the receiver never "
                   "heard of them. Fix the channel, then check it with the command below.")
    st.caption("Check a channel with a harmless test message:")
    st.code(f"python -m pipelines alerts test --config bouncedesk.toml --channel {channels['channel'][0]}",
            language="bash")

st.subheader("Quarantined input")
ui.table(data.quarantined_records(limit=5000), "quarantine.csv",
         "Nothing quarantined: every record read so far was well-formed.")

st.subheader("Control messages set aside")
ui.table(data.skipped_control_messages(), "skipped_control_messages.csv",
         "No SNS subscription confirmation or SES topic test has arrived: nothing was set aside.")
st.caption("SNS subscription confirmations and SES's topic-validation test are read and skipped: "
           "they carry no mail event, so they are neither loaded nor quarantined.")

st.subheader("Unattributed events")
ui.table(data.unattributed_events(limit=500), "unattributed.csv",
         "Every event has a portal (from its tags, a header, its Send event or the directory).")

st.subheader("Objects read, by status")
objects = data.objects_by_status()
if objects.is_empty():
    st.info("No object has been read yet.")
else:
    counts = dict(objects.select("status", "objects").iter_rows())
    cols = st.columns(3)
    for col, name in zip(cols, ("ok", "partial", "failed"), strict=True):
        col.metric(f"Objects {name}", f"{counts.get(name, 0):,}")

st.subheader("Quarantine reasons")
reasons = data.quarantine_reasons(limit=5000)
if reasons.is_empty():
    st.info("No quarantined record, so no reasons to chart.")
else:
    st.plotly_chart(charts.quarantine_reasons(reasons))
