-- One row per distinct bounce signal of the load (SES type/subtype, action, status, diagnostic): the
-- classifier (pipelines/bounces) gives each one verdict, far fewer calls than bounces.
select distinct verdict_key, bounce_type, bounce_subtype, bounce_action, status_code, diagnostic
from int_ses_recipient_events
where verdict_key is not null
