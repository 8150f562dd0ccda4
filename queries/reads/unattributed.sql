-- Events no tag, header, Send event or directory entry could give a portal: kept, shown here.
select
    event_type,
    recipient_domain,
    count(*) as events,
    count(distinct recipient) as recipients,
    max(event_at) as last_event
from fct_recipient_events
where portal_id is null
group by all
order by events desc
limit $limit
