-- The load's totals for its summary: records read, quarantined, fact rows staged (copies included),
-- the send dates they span (the commit narrows its reads to those days) and the control messages
-- skipped (SNS subscription confirmations, SES's topic validation test).
select
    (select count(*) from raw_ses_records)
    + (select count(distinct (source, object_key, record_index)) from staged_log_bounces) as records,
    (select count(*) from _quarantine) as quarantined,
    (select coalesce(sum(copies), 0) from staged_facts) as fact_rows,
    (select min(sent_date) from staged_facts) as first_sent,
    (select max(sent_date) from staged_facts) as last_sent,
    (select count(*) from staged_records where skipped is not null) as skipped
