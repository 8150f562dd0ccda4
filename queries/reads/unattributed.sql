-- Events no tag, header, Send event or directory entry could give a portal: kept, shown here.
select
    event_type,
    recipient_domain,
    sum(events)::bigint as events,
    count(distinct recipient) as recipients,
    max(last_event_at) as last_event
from mart_unattributed_days
group by all
order by events desc
limit $limit
