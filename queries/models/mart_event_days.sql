-- grain: one row per (sent_date, event_type) of fct_recipient_events: how many events of the type were
-- sent that UTC day, how many carry a portal, the day's first send and latest event. Every event has a
-- send date (staging quarantines an SES record without mail.timestamp; a bounce log's row is dated by
-- its send or its bounce), so the whole history is the sum of its days: the pipeline's event counts
-- read ~days x types rows here instead of every event. Kept at each commit for the send days of the
-- events the load added or replaced (catalog.refresh_send_days); all after a rebuild.
-- scope: a list of send dates (the days to recompute), or null for every day.
-- materialised: incremental table (scope date[]), ordered by sent_date
select
    sent_date,
    event_type,
    count(*) as events,
    count(portal_id) as attributed,
    min(sent_at) as first_sent_at,
    max(event_at) as last_event_at
from fct_recipient_events
where on_send_days(sent_date, scope)
group by sent_date, event_type
