"""bouncedesk: `streamlit run app.py`. The entry file only frames the app and routes to pages."""

# Loaded with the app's first run, not by the first page that draws a table: st.dataframe converts
# through pandas, whose import (0.4-0.6 s here, pyarrow with it) otherwise lands on that page.
import pandas  # noqa: F401
import streamlit as st

from pipelines.dashboard import ui
from pipelines.dashboard.cache import db_path, one_reader

st.set_page_config(page_title="bouncedesk", page_icon=":material/mark_email_unread:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/portal.py", title="Portal", icon=":material/domain:", url_path="portal"),
    st.Page("pages/domains.py", title="Domains", icon=":material/language:", url_path="domains"),
    st.Page("pages/batches.py", title="Upload batches", icon=":material/upload_file:", url_path="batches"),
    st.Page("pages/address.py", title="Address lookup", icon=":material/person_search:", url_path="address"),
    st.Page("pages/restore_brief.py", title="Restore brief", icon=":material/build:",
            url_path="restore-brief"),
    st.Page("pages/presend.py", title="Pre-send check", icon=":material/traffic:", url_path="presend"),
    st.Page("pages/pipeline_health.py", title="Pipeline health", icon=":material/monitor_heart:",
            url_path="health"),
]
# Navigation is declared on every run, before anything else: without it Streamlit would list the
# pages/ folder in the sidebar. Until there is a database the list stays hidden.
ready = db_path().exists()
page = st.navigation(pages, position="sidebar" if ready else "hidden")
if ui.ensure_database():
    if ready:
        with one_reader():
            page.run()
    else:  # the first-start build just finished: draw the app with its navigation
        st.rerun()
