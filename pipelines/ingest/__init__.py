"""Ingest: list -> read -> stage -> commit. Sources, objects, one reader per kind of object, the
stager, the commit, `refresh()`/`rebuild()`, `forget()`. Imports the warehouse, the bounce rules and
`reports.alerts` (the commit records status changes in its own transaction)."""
