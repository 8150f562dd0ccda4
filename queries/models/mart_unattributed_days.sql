-- grain: one row per (sent_date, event_type, recipient) of the fct_recipient_events no tag, header, Send
-- event or directory entry gave a portal (portal_id null): their count and latest event. Few beside
-- the attributed mail, and a count of distinct recipients over the history needs the recipients
-- themselves, so they are kept, not only counted: the pipeline's unattributed report reads these rows
-- instead of scanning every event. Kept at each commit for the send days of the events the load added
-- or replaced (catalog.refresh_send_days); all after a rebuild.
-- scope: a list of send dates (the days to recompute), or null for every day.
-- materialised: incremental table (scope date[]), ordered by sent_date
select
    sent_date,
    event_type,
    recipient,
    recipient_domain,
    count(*) as events,
    max(event_at) as last_event_at
from fct_recipient_events
where portal_id is null
    and on_send_days(sent_date, scope)
group by sent_date, event_type, recipient, recipient_domain
