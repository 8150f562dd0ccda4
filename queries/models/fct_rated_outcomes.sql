-- grain: one row per (message, recipient) of fct_recipient_outcomes that counts toward the rates:
-- all but the mail to SES's mailbox simulator (is_ses_simulator in queries/macros.sql), which SES
-- leaves out of every rate. Every rate, status, forecast and cause reads this, not the outcomes.
-- materialised: view
select * from fct_recipient_outcomes
where not is_simulator
