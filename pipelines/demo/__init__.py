"""The demo: a seeded, realistic world of portals and learners, written as SES exports and LMS
directory CSVs, then loaded. Imports ingest."""
