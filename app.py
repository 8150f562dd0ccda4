"""bouncedesk: `streamlit run app.py`. The entry file only frames the app and routes to pages."""

import streamlit as st

from pipelines import ui

st.set_page_config(page_title="bouncedesk", page_icon="📮", layout="wide")

if ui.ensure_database():
    pages = [
        st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
        st.Page("pages/pipeline_health.py", title="Pipeline health", icon="🩺"),
    ]
    st.navigation(pages).run()
