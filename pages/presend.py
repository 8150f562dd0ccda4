"""Pre-send check: flag a list of addresses and project what sending it would do to a portal."""

import streamlit as st

from pipelines.dashboard import data, ui

ui.through_the_app()

st.title("Pre-send check")
st.caption("Before a bulk upload or invitation: which addresses will bounce, and would the send push the "
           "portal past the cutoff?")

# Every known portal, a new one without mail on record too: its first upload is the send to check.
portal = ui.portal_picker("Portal", key="presend_portal")
if portal is None:
    st.info("No portal is known yet (load the LMS directory): the list is checked, but no projection "
            "can be made.")

upload = st.file_uploader("CSV of addresses (a column named email or address, else the first column)",
                          type=["csv", "txt"], key="presend_file")
pasted = st.text_area("…or paste addresses, one per line", key="presend_text", height=150)
addresses = data.listed_addresses(upload.getvalue() if upload is not None else None, pasted)
if not addresses:
    st.info("Upload a CSV or paste addresses to check them.")
    st.stop()

result = data.presend_check(portal_id=portal, addresses=tuple(addresses))

c1, c2, c3, c4 = st.columns(4)
c1.metric("Addresses", f"{result.total:,}", help=f"{result.unique:,} distinct")
c2.metric("Flagged", f"{result.flagged:,}")
if result.expected_hard_share is not None:
    c3.metric("Expected hard-bounce share", f"{result.expected_hard_share * 100:.1f}%",
              help=f"about {result.expected_hard_bounces:,} hard bounces")
    rate = "—" if result.projected_hard_rate is None else f"{result.projected_hard_rate * 100:.2f}%"
    c4.metric("Projected status", ui.status_label(result.projected_status),
              help=f"now: {ui.status_label(result.status)}; hard rate after: {rate}")
    if result.crosses_cutoff or result.over_cutoff_after:
        st.error(f"Sending this list would take this portal to **exceeded**: the hard-bounce rate would "
                 f"reach {rate} (cutoff {result.cutoff * 100:.1f}%). Remove the flagged addresses first.")
    elif result.projected_hard_rate is not None and result.projected_hard_rate >= result.cutoff:
        st.warning(f"The hard-bounce rate would reach {rate}, above the cutoff {result.cutoff * 100:.1f}%, "
                   "though the portal has too few sends to be judged yet. "
                   "Remove the flagged addresses first.")
    elif result.projected_status == "approaching":
        st.warning(f"Sending this list leaves this portal approaching the cutoff (hard rate {rate}).")
    else:
        st.success(f"Sending this list keeps this portal {result.projected_status} (hard rate {rate}).")

st.subheader("Flags")
ui.table(result.counts(), "presend_flags.csv", "No address to check.")
st.subheader("Checked addresses")
ui.table(result.addresses, "presend_check.csv", "No address to check.")
