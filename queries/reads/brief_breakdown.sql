-- What $portal_id's bounces came from (whole loaded history, simulator mail left out): per dimension
-- (batch, domain, reason) and value, the sends, hard bounces and any bounces; values with a bounce only.
-- Summed from the send-day tables, a few rows per day, rather than from every outcome of the portal:
-- every outcome has a send date (the loader quarantines a record without any time), so each is in
-- them. Batch from mart_portal_days; domain and reason from mart_portal_day_keys, whose key is '(none)'
-- where the row has none: a row without a reason is no reason's.
with kept as (
    select
        'batch' as dimension,
        coalesce(upload_batch_id, '(no batch)') as value,
        sent,
        hard_bounced,
        bounced
    from mart_portal_days
    where portal_id = cast($portal_id as varchar)
    union all
    select dimension, key, sent, hard_bounced, bounced
    from mart_portal_day_keys
    where portal_id = cast($portal_id as varchar)
        and (dimension = 'domain' or (dimension = 'reason' and key <> '(none)'))
),

grouped as (
    select
        dimension,
        value,
        cast(sum(sent) as bigint) as sent,
        cast(sum(hard_bounced) as bigint) as hard_bounced,
        cast(sum(bounced) as bigint) as bounced
    from kept
    group by dimension, value
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
