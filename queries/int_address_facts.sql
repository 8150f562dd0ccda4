-- grain: one row per (portal_id, recipient); see queries/scoped/int_address_facts_for.sql for every column.
-- Kept as a table (fct_address_facts) refreshed at each commit; this view is its definition.
select * from int_address_facts_for(null)
