-- Recipient events by type, with how many carry a portal: the sum of their send days.
select
    event_type,
    sum(events)::bigint as events,
    sum(attributed)::bigint as attributed,
    min(first_sent_at) as first_sent,
    max(last_event_at) as last_event
from mart_event_days
group by event_type
order by events desc
