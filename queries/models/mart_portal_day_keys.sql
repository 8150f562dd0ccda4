-- grain: one row per (portal_id, sent_date, dimension, key) with rated outcomes, for the dimensions
-- 'domain', 'message_type' and 'reason': each day's counts of the (message, recipient) rows of
-- fct_rated_outcomes (SES's mailbox simulator left out) under the key the rates give them (macros.sql
-- rate_key: '(none)' where a row has none). The counts are mart_portal_days's, split by key instead of
-- by batch, so a window's rates by domain, message type or reason (queries/reads/rates.sql) sum
-- ~days x keys rows here instead of reading every outcome of the window. Kept at each commit for the
-- send days whose outcomes the load changed (catalog.refresh_send_days); all after a rebuild.
-- scope: a list of send dates (the days to recompute), or null for every day.
-- materialised: incremental table (scope date[]), ordered by sent_date
with days as (
    select
        portal_id,
        sent_date,
        recipient_domain,
        message_type,
        bounce_reason,
        sent,
        delivered,
        hard_bounced,
        soft_bounced,
        complained,
        rejected,
        suppressed,
        bounced_at
    from fct_rated_outcomes
    where sent_date is not null
        and on_send_days(sent_date, scope)
),

keyed as (
    select
        d.portal_id,
        d.sent_date,
        k.dimension,
        rate_key(k.dimension, d.portal_id, d.recipient_domain, null, d.message_type, d.bounce_reason) as key,
        d.sent,
        d.delivered,
        d.hard_bounced,
        d.soft_bounced,
        d.complained,
        d.rejected,
        d.suppressed,
        d.bounced_at
    from days as d
    cross join (values ('domain'), ('message_type'), ('reason')) as k (dimension)
)

select
    portal_id,
    sent_date,
    dimension,
    key,
    count(*) filter (where sent) as sent,
    count(*) filter (where sent and delivered) as delivered,
    count(*) filter (where sent and hard_bounced) as hard_bounced,
    count(*) filter (where sent and soft_bounced) as soft_bounced,
    count(*) filter (where sent and complained) as complaints,
    count(*) filter (where rejected) as rejects,
    count(*) filter (where suppressed) as suppressed,
    count(*) filter (where bounced_at is not null) as bounced
from keyed
group by portal_id, sent_date, dimension, key
