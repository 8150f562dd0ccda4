"""The dashboard: the only code that imports streamlit or plotly. Cached page data, charts, tables
and downloads, the portal picker, the first-start demo build. Imports reports and the warehouse."""
