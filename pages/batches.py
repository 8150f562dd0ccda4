"""Upload batches: which learner uploads bounce most, and the bounced addresses of one."""

import streamlit as st

from pipelines.dashboard import data, ui

st.title("Upload batches")

scope = ui.portal_picker(key="batch_scope", all_label="All portals")
qp = st.query_params

ranked = data.batches(portal_id=scope, rollup=False)
st.subheader("Batches by hard-bounce rate")
st.caption("Over the whole loaded history; size and upload date from the LMS directory (batches.csv).")
ui.table(ranked, f"batches{'_' + scope if scope else ''}.csv",
         "No mail carries an upload batch id (tag or header) for this scope.")

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
        if rows.is_empty():
            st.info("No address of this batch has bounced.")
        else:
            st.dataframe(rows, hide_index=True)
            ui.download(rows, f"bounced_{portal_id}_{batch_id}.csv", label="Export CSV", key="export-batch")
st.query_params.from_dict(params)
