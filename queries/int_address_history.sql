-- grain: one row per (portal_id, recipient); see queries/scoped/address_history.sql for every count.
-- Kept as a table (fct_address_history) refreshed at each commit; this view is its definition.
select * from address_history(null)
