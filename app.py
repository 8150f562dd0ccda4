"""bouncedesk: `streamlit run app.py`. The entry file only frames the app and routes to pages."""

import streamlit as st

from pipelines.dashboard import ui

st.set_page_config(page_title="bouncedesk", page_icon="📮", layout="wide")

if ui.ensure_database():
    pages = [
        st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
        st.Page("pages/portal.py", title="Portal", icon="🏢", url_path="portal"),
        st.Page("pages/domains.py", title="Domains", icon="🌐", url_path="domains"),
        st.Page("pages/batches.py", title="Upload batches", icon="📤", url_path="batches"),
        st.Page("pages/address.py", title="Address lookup", icon="🔎", url_path="address"),
        st.Page("pages/restore_brief.py", title="Restore brief", icon="🛠️", url_path="restore-brief"),
        st.Page("pages/presend.py", title="Pre-send check", icon="🚦", url_path="presend"),
        st.Page("pages/pipeline_health.py", title="Pipeline health", icon="🩺", url_path="health"),
    ]
    st.navigation(pages).run()
