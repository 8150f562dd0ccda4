"""Overview: the account's rates against SES's levels, portals at risk, new alerts, data freshness."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from pipelines.dashboard import charts, data, ui

st.title("Overview")

fresh = data.freshness()
newest, last_refresh = fresh["newest_event"], fresh["last_refresh"]
c1, c2, c3 = st.columns(3)
c1.metric("Recipient events", f"{fresh['events']:,}")
c2.metric("Newest event (UTC)", f"{newest:%Y-%m-%d %H:%M}" if newest else "—")
c3.metric("Last refresh (UTC)", f"{last_refresh:%Y-%m-%d %H:%M}" if last_refresh else "—")
if newest and newest < datetime.now(UTC) - timedelta(hours=24):
    st.warning(f"The newest event is from {newest:%Y-%m-%d %H:%M} UTC, more than 24 hours ago: "
               "check that the refresh is running (see Pipeline health).")

overview = data.account_overview(window_days=30)
account = overview["account"]
st.subheader("Account rates, last 30 days")
if account is None or not account["sent"]:
    st.info("No sends in the 30 days before the newest event, so there is no account rate to show yet.")
else:
    levels = account["levels"]
    st.caption(f"Sends in the 30 days up to {overview['as_of']:%Y-%m-%d %H:%M} UTC (the newest event), "
               f"SES mailbox-simulator mail left out. SES reviews an account at {levels.warning:.0%} hard "
               f"bounces (warning) / {levels.cutoff:.0%} (cutoff) and {levels.complaint_warning:.1%} / "
               f"{levels.complaint_cutoff:.1%} complaints.")
    m1, m2, m3 = st.columns(3)
    m1.metric("Hard-bounce rate", f"{account['hard_rate']:.2%}",
              delta=data.level_word(account["hard_status"], levels.warning, levels.cutoff),
              delta_color="off",
              help=f"{account['hard_bounced']:,} hard bounces of {account['sent']:,} sends")
    m2.metric("Complaint rate", f"{account['complaint_rate']:.3%}",
              delta=data.level_word(account["complaint_status"], levels.complaint_warning,
                                    levels.complaint_cutoff),
              delta_color="off", help=f"{account['complaints']:,} complaints of {account['sent']:,} sends")
    m3.metric("Sends", f"{account['sent']:,}")
    daily = overview["daily"]
    if not daily.is_empty():
        left, right = st.columns(2)
        left.plotly_chart(charts.rate_figure(daily, levels.warning, levels.cutoff, height=280),
                          key="overview-hard")
        right.plotly_chart(charts.rate_figure(
            daily, levels.complaint_warning, levels.complaint_cutoff, rate="complaint_rate",
            count="complaints", rate_label="Complaint rate", height=280), key="overview-complaint")

st.subheader("Portals by status")
st.caption("Worst first: disabled, exceeded, approaching. `why` names the level each status was judged "
           "against; `rollup_*` include the portal's sub-portals. Open a portal on the Portal page.")
ui.table(data.portals_by_status(), "portal_status.csv",
         "No portals yet: load the LMS directory (`--directory`) or mail tagged with a portal id.")

st.subheader("New alerts from the last refresh")
ui.table(data.recent_alerts(), "alerts.csv",
         "No status changes recorded: no portal changed status at the last refresh that found any.")

with st.expander("Events loaded, by type"):
    ui.table(data.event_counts(), "event_counts.csv",
             "No events loaded yet. Run `python -m pipelines refresh --source <folder or s3://...>`.")
