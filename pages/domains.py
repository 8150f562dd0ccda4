"""Domains: where the hard bounces go, likely typos, and organisations refusing our mail."""

import streamlit as st

from pipelines.dashboard import data, ui

ui.through_the_app()

st.title("Domains")

if "scope_rollup" not in st.session_state:
    st.session_state["scope_rollup"] = st.query_params.get("rollup") == "1"
f1, f2 = st.columns([3, 1])
with f1:
    portal_id = ui.portal_picker("Account or portal (type to search)", key="scope", all_label="Whole account")
rollup = f2.toggle("Include sub-portals (roll-up)", key="scope_rollup", disabled=portal_id is None)
rollup = bool(rollup and portal_id)
st.query_params.from_dict({"portal": portal_id, "rollup": "1" if rollup else "0"} if portal_id else {})
suffix = f"_{portal_id}" if portal_id else ""

st.subheader("Domains by hard bounces, last 30 days")
ranked = data.domain_ranking(portal_id=portal_id, rollup=rollup, window_days=30)
st.caption("Ranked by hard bounces, then hard-bounce rate. \"Likely typo of\" names the provider a domain "
           "is a likely typo of. Pick a domain to look up its addresses.")
domain = ui.table(ranked, f"domains{suffix}.csv", "Nothing sent in the 30 days before the newest event.",
                  show=["domain", "hard_bounced", "hard_rate", "sent", "share_of_hard_bounces", "typo_of"],
                  key="domains-ranked", select=True)
if domain:
    st.switch_page("pages/address.py", query_params={"q": f"@{domain['domain']}"})

st.subheader("Likely typos")
ui.table(data.domain_typos(portal_id=portal_id, rollup=rollup),
         f"domain_typos{suffix}.csv",
         "No recipient domain looks like a typo of a major mail provider.")

st.subheader("Domains rejecting our content")
st.caption("These organisations' mail servers refuse our mail for its content or by policy. Advice: "
           f"{data.ALLOW_LIST_ADVICE}.")
ui.table(data.rejecting_domains(portal_id=portal_id, rollup=rollup),
         f"rejecting_domains{suffix}.csv",
         "No domain refuses our content (>= 5 refusals and >= 20 % of its sends in a portal).")
