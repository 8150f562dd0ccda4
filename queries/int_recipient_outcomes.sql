-- grain: one row per (message, recipient); see queries/scoped/recipient_outcomes.sql for the rules.
-- Kept as a table (fct_recipient_outcomes) refreshed at each commit; this view is its definition.
select * from recipient_outcomes(null)
