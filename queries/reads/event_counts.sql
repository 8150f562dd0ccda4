-- Recipient events by type, with how many carry a portal.
select
    event_type,
    count(*) as events,
    count(portal_id) as attributed,
    min(sent_at) as first_sent,
    max(event_at) as last_event
from fct_recipient_events
group by event_type
order by events desc
