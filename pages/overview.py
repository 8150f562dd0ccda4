"""Overview: the account's rates against SES's levels, portals at risk, new alerts, data freshness."""

from datetime import UTC, datetime, timedelta

import streamlit as st

from pipelines.dashboard import charts, data, ui

ui.through_the_app()

st.title("Overview")

# Answers first: the account's verdict, then the portals someone should open today.
overview = data.account_overview(window_days=30)
level, verdict = data.account_verdict(overview)
{"error": st.error, "warning": st.warning, "success": st.success, "info": st.info}[level](verdict)
portals = data.portals_by_status()
attention = data.needs_attention(portals)
st.subheader(f"Needs someone today ({len(attention)})")
if not attention:
    st.success("No portal is over a warning level, alone or with its sub-portals.")
for r in attention:
    scope = " with its sub-portals" if r["rollup"] else ""
    rate = "—" if r["shown_rate"] is None else f"{r['shown_rate']:.2%}"
    why = "judged with its sub-portals" if r["rollup"] else r["why"]
    st.page_link("pages/portal.py", icon=":material/arrow_forward:",
                 query_params={"portal": r["portal_id"], "rollup": "1" if r["rollup"] else "0"},
                 label=f"{r['portal_id']} — {r['name'] or '(not in the directory)'}{scope}: "
                       f"{ui.status_label(r['shown_status'])}, hard bounces {rate} ({why})")

fresh = data.freshness()
newest, last_refresh = fresh["newest_event"], fresh["last_refresh"]
c1, c2, c3 = st.columns(3)
c1.metric("Recipient events", f"{fresh['events']:,}")
c2.metric("Newest event (UTC)", f"{newest:%Y-%m-%d %H:%M}" if newest else "—")
if fresh["marts_built_at"]:
    c3.metric("Computed from the lake (UTC)", f"{fresh['marts_built_at']:%Y-%m-%d %H:%M}",
              help=data.served_from_lake(fresh))
else:
    c3.metric("Last refresh (UTC)", f"{last_refresh:%Y-%m-%d %H:%M}" if last_refresh else "—")
if newest and newest < datetime.now(UTC) - timedelta(hours=24):
    st.warning(f"The newest event is from {newest:%Y-%m-%d %H:%M} UTC, more than 24 hours ago: "
               "check that the refresh is running (see Pipeline health).")

account = overview["account"]
has_sends = account is not None and bool(account["sent"])
st.subheader("Account rates, last 30 days")
if not has_sends:
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
              delta_color="off", delta_arrow="off",
              help=f"{account['hard_bounced']:,} hard bounces of {account['sent']:,} sends")
    m2.metric("Complaint rate", f"{account['complaint_rate']:.3%}",
              delta=data.level_word(account["complaint_status"], levels.complaint_warning,
                                    levels.complaint_cutoff),
              delta_color="off", delta_arrow="off",
              help=f"{account['complaints']:,} complaints of {account['sent']:,} sends")
    m3.metric("Sends", f"{account['sent']:,}")

# SES's own figures under ours, as the last refresh recorded them (the app never calls AWS).
ses = data.ses_reputation()
if ses["bounce"] or ses["complaint"]:
    s1, s2, _ = st.columns(3)
    for column, key, label, shown in ((s1, "bounce", "SES's bounce rate", ".2%"),
                                      (s2, "complaint", "SES's complaint rate", ".3%")):
        r = ses[key]
        if r is None:
            column.metric(label, "—", delta="no datapoint fetched", delta_color="off", delta_arrow="off")
            continue
        column.metric(label, f"{r['value']:{shown}}", delta=f"measured {r['measured_at']:%Y-%m-%d %H:%M} UTC",
                      delta_color="off", delta_arrow="off",
                      help=f"CloudWatch's {data.SES_METRICS[key]} for the account in {r['region']}, "
                           f"fetched {r['fetched_at']:%Y-%m-%d %H:%M} UTC")
    st.caption(f"Why they differ: SES judges a representative volume of the whole account's recent mail in "
               f"{ses['region'] or 'its region'} (not our 30 days, and including mail whose events never "
               "reached bouncedesk) and leaves out bounces to verified addresses; both count hard bounces "
               "only and leave out mailbox-simulator and account-suppressed mail.")
else:
    st.caption("SES's own bounce and complaint rates can show here: run `python -m pipelines refresh` with "
               "`--ses-reputation` (or `ses_reputation = true` in its config) where AWS credentials may read "
               "CloudWatch.")

if has_sends and not overview["daily"].is_empty():
    daily = overview["daily"]
    left, right = st.columns(2)
    left.plotly_chart(charts.rate_figure(daily, levels.warning, levels.cutoff, height=280),
                      key="overview-hard")
    right.plotly_chart(charts.rate_figure(
        daily, levels.complaint_warning, levels.complaint_cutoff, rate="complaint_rate",
        count="complaints", rate_label="Complaint rate", height=280), key="overview-complaint")

st.subheader("Portals by status")
st.caption("Worst first: mail switched off, over the cutoff, over the warning. "
           "Pick a row to open the portal.")
picked = ui.table(portals, "portal_status.csv",
                  "No portals yet: load the LMS directory (`--directory`) or mail tagged with a portal id.",
                  show=["portal_id", "name", "status", "hard_rate", "trend", "sent", "rollup_status", "why"],
                  key="overview-portals", select=True)
if picked:
    st.switch_page("pages/portal.py", query_params={"portal": picked["portal_id"], "rollup": "0"})

st.subheader("New alerts from the last refresh")
ui.table(data.recent_alerts(), "alerts.csv",
         "No status changes recorded: no portal changed status at the last refresh that found any.",
         show=["recorded_at", "portal_id", "name", "scope", "from_status", "to_status", "hard_rate", "sent",
               "delivery"])

with st.expander("Events loaded, by type"):
    ui.table(data.event_counts(), "event_counts.csv",
             "No events loaded yet. Run `python -m pipelines refresh --source <folder or s3://...>`.")
