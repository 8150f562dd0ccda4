"""Address lookup: every portal an address belongs to, its full history and what to do about it."""

import streamlit as st

from pipelines.dashboard import charts, data, ui

ui.through_the_app()

st.title("Address lookup")
st.caption("A learner says she gets no mail: type her address, or part of it.")

q = st.text_input("Address or part of it", value=st.query_params.get("q", ""), key="lookup_q",
                  placeholder="jane@example.com")
st.query_params["q"] = q
if not q.strip():
    st.info("Type an address (or a part of one, e.g. a domain) to see where it belongs and what its "
            "mail did.")
    st.stop()

matches = data.matching_addresses(q=q.strip())
if matches.is_empty():
    st.info("No address containing the search text is in the mail events or the directory.")
    st.stop()

options = matches["address"].to_list()
wanted = st.query_params.get("address", "")
address = st.selectbox(f"Matching addresses ({len(options)}{', first 50' if len(options) == 50 else ''})",
                       options, index=options.index(wanted) if wanted in options else 0, key="lookup_pick")
st.query_params["address"] = address

record = data.address_record(address=address)
portals, events = record["portals"], record["events"]

st.subheader("Verdict")
st.text(record["verdict"])

st.subheader("Portals")
st.caption("Pick a portal to open it.")
portal = ui.table(portals, "address_portals.csv",
                  "The address is in no portal's directory and has no mail on record.",
                  key="address-portals", select=True)
if portal and portal.get("portal_id"):
    st.switch_page("pages/portal.py", query_params={"portal": portal["portal_id"], "rollup": "0"})

st.subheader("Event history")
if not events.is_empty():
    st.plotly_chart(charts.address_events(events))
ui.table(events, "address_events.csv", "No mail event for this address.")
