-- How one portal ($portal_id, with its sub-portals when $rollup) has been sending, for the
-- forecast: over the baseline window ($as_of - $baseline_days days, $as_of] its sends and hard
-- bounces, and those of its worst upload batch (the batch with the most hard bounces there, ties to
-- the higher rate, then the lower id; none when no batch hard-bounced); over the trend window
-- ($as_of - $trend_days days, $as_of] its sends and hard bounces. By time of sending, without SES's
-- mailbox-simulator mail, as every rate.
with members as (
    select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))) as portal_id
),

recent as (
    select
        o.upload_batch_id,
        o.sent_at,
        o.hard_bounced,
        o.sent_at > $as_of::timestamptz - to_microseconds(cast($baseline_days * 86400e6 as bigint))
            as in_baseline,
        o.sent_at > $as_of::timestamptz - to_microseconds(cast($trend_days * 86400e6 as bigint))
            as in_trend
    from fct_rated_outcomes as o
    where o.sent
        and o.portal_id in (select portal_id from members)
        and o.sent_at <= $as_of::timestamptz
        and o.sent_at > $as_of::timestamptz
        - to_microseconds(cast(greatest($baseline_days, $trend_days) * 86400e6 as bigint))
        -- The window by send date too (implied: sent_date is sent_at's UTC date): a lake prunes by it.
        and o.sent_date between cast($as_of::timestamptz
            - to_microseconds(cast(greatest($baseline_days, $trend_days) * 86400e6 as bigint)) as date)
            and cast($as_of::timestamptz as date)
),

baseline as (
    select * from recent where in_baseline
),

batches as (
    select
        upload_batch_id,
        count(*) as sent,
        count(*) filter (where hard_bounced) as hard_bounced
    from baseline
    where upload_batch_id is not null
    group by upload_batch_id
),

worst as (
    select *
    from batches
    where hard_bounced > 0
    order by hard_bounced desc, hard_bounced / sent desc, upload_batch_id
    limit 1
),

final as (
    select
        (select count(*) from baseline) as baseline_sent,
        (select count(*) filter (where hard_bounced) from baseline) as baseline_hard_bounced,
        (select upload_batch_id from worst) as worst_batch_id,
        coalesce((select sent from worst), 0) as worst_batch_sent,
        coalesce((select hard_bounced from worst), 0) as worst_batch_hard_bounced,
        (select count(*) from recent where in_trend) as trend_sent,
        (select count(*) filter (where hard_bounced) from recent where in_trend) as trend_hard_bounced
)

select * from final
