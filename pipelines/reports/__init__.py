"""Reports: the numbers read back, shared by the command line and the app (no streamlit): policy,
rates and status, alerts, projection, export, pre-send check, restore brief. Imports the warehouse."""
