-- grain: one row per (message, recipient); see queries/scoped/int_recipient_outcomes_for.sql for the rules.
-- Kept as a table (fct_recipient_outcomes) refreshed at each commit; this view is its definition.
select * from int_recipient_outcomes_for(cast(null as struct(keys varchar[], first_sent date, last_sent date)))
