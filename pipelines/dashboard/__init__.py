"""The dashboard: the only code that imports streamlit or plotly. `cache.page_data` (every page-data
function's reader and cache), `data` (the page data and charts), `ui` (the portal picker, tables and
downloads, the first-start demo build). Imports reports and the warehouse."""
