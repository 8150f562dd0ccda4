-- What $portal_id's bounces came from (whole loaded history, simulator mail left out): per dimension
-- (batch, domain, reason) and value, the sends, hard bounces and any bounces; values with a bounce only.
with scoped as (
    select
        sent,
        hard_bounced,
        bounced_at is not null as bounced,
        upload_batch_id,
        recipient_domain,
        bounce_reason
    from fct_rated_outcomes
    where portal_id = cast($portal_id as varchar)
),

grouped as (
    select 'batch' as dimension, coalesce(upload_batch_id, '(no batch)') as value,
        count(*) filter (where sent) as sent,
        count(*) filter (where hard_bounced) as hard_bounced,
        count(*) filter (where bounced) as bounced
    from scoped group by 2
    union all
    select 'domain', coalesce(recipient_domain, '(none)'),
        count(*) filter (where sent), count(*) filter (where hard_bounced), count(*) filter (where bounced)
    from scoped group by 2
    union all
    select 'reason', bounce_reason,
        count(*) filter (where sent), count(*) filter (where hard_bounced), count(*) filter (where bounced)
    from scoped where bounce_reason is not null group by 2
)

select
    dimension,
    value,
    sent,
    hard_bounced,
    bounced,
    hard_bounced / nullif(sent, 0) as hard_rate
from grouped
where bounced > 0
order by dimension, hard_bounced desc, bounced desc, value
