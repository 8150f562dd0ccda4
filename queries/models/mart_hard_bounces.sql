-- grain: one row per (message, recipient) of fct_rated_outcomes that was sent and hard-bounced (SES's
-- rule, fct_recipient_outcomes.hard_bounced; SES's mailbox simulator left out): a few percent of the
-- outcomes, holding what the causes need of each hard bounce (who, which portal and batch, when, why)
-- so that they read these rows and mart_portal_days instead of every outcome. Every such row has a
-- send date. Kept at each commit for the send days whose outcomes the load changed, with
-- mart_portal_days (catalog.refresh_send_days); all after a rebuild.
-- scope: a list of send dates (the days to recompute), or null for every day.
-- materialised: incremental table (scope date[]), ordered by portal_id
select
    message_key,
    portal_id,
    recipient,
    recipient_domain,
    upload_batch_id,
    message_type,
    sent_at,
    sent_date,
    bounce_reason,
    bounced_at
from fct_rated_outcomes
where sent
    and hard_bounced
    and on_send_days(sent_date, scope)
