"""Upload batches: which learner uploads bounce most, and the bounced addresses of one."""

import streamlit as st

from pipelines.dashboard import data, ui

ui.through_the_app()

st.title("Upload batches")

scope = ui.portal_picker(key="batch_scope", all_label="All portals")
qp = st.query_params

ranked = data.batches(portal_id=scope, rollup=False)
st.subheader("Batches by hard-bounce rate")
st.caption("Over the whole loaded history; size and upload date from the LMS directory (batches.csv). "
           "Pick a batch to list its bounced addresses.")
picked = ui.table(ranked, f"batches{'_' + scope if scope else ''}.csv",
                  "No mail carries an upload batch id (tag or header) for this scope.",
                  show=["batch_id", "portal_id", "hard_rate", "hard_bounced", "sent", "row_count", "filename",
                        "uploaded_at"], key="batches-ranked", select=True)
if picked:
    chosen = f"{picked['batch_id']}|{picked['portal_id'] or ''}"
    if st.session_state.get("batches-ranked-applied") != chosen:  # a new pick, not the one kept from before
        st.session_state["batches-ranked-applied"] = st.session_state["batch"] = chosen

params = {"portal": scope} if scope else {}
if not ranked.is_empty():
    st.subheader("Bounced addresses of one batch")
    keys = [f"{b}|{p or ''}" for b, p in zip(ranked["batch_id"], ranked["portal_id"], strict=True)]
    if st.session_state.get("batch") not in keys:
        wanted = [k for k in keys if k.split("|")[0] == qp.get("batch")]
        st.session_state["batch"] = wanted[0] if wanted else keys[0]
    key = st.selectbox("Batch", keys, key="batch",
                       format_func=lambda k: f"{k.split('|')[0]} ({k.split('|')[1] or 'no portal'})")
    batch_id, portal_id = key.split("|")
    params["batch"] = batch_id
    if not portal_id:
        st.info("This batch's mail carries no portal, so there is no portal export to list it from.")
    else:
        rows = data.batch_bounced(batch_id=batch_id, portal_id=portal_id)
        st.caption("Pick an address to see its whole history.")
        address = ui.table(rows, f"bounced_{portal_id}_{batch_id}.csv",
                           "No address of this batch has bounced.",
                           show=["email", "learner_name", "bounce_type", "reason", "last_bounce",
                                 "recommended_action"], key="batch-bounced", select=True,
                           download_label="Export CSV", download_key="export-batch")
        if address:
            st.switch_page("pages/address.py",
                           query_params={"q": address["email"], "address": address["email"]})
st.query_params.from_dict(params)
