-- How one portal ($portal_id, with its sub-portals when $rollup) has been sending, for the
-- forecast: over the baseline window ($as_of - $baseline_days days, $as_of] its sends and hard
-- bounces, and those of its worst upload batch (the batch with the most hard bounces there, ties to
-- the higher rate, then the lower id; none when no batch hard-bounced); over the trend window
-- ($as_of - $trend_days days, $as_of] its sends and hard bounces. By time of sending, without SES's
-- mailbox-simulator mail, as every rate. The whole days between a window's two partial edge days are
-- mart_portal_days' counts (by batch); the edge days are counted from the outcomes, to the microsecond.
with members as (
    select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))) as portal_id
),

windows as (
    select
        'baseline' as window_name,
        $as_of::timestamptz - to_microseconds(cast($baseline_days * 86400e6 as bigint)) as starts_after
    union all
    select
        'trend',
        $as_of::timestamptz - to_microseconds(cast($trend_days * 86400e6 as bigint))
),

whole_days as (
    select
        w.window_name,
        d.upload_batch_id,
        sum(d.sent) as sent,
        sum(d.hard_bounced) as hard_bounced
    from mart_portal_days as d
    inner join windows as w
        on d.sent_date > cast(w.starts_after as date)
        and d.sent_date < cast($as_of::timestamptz as date)
    where d.portal_id in (select portal_id from members)
    group by w.window_name, d.upload_batch_id
),

-- The edge days: as_of's day (a constant, so the scan reads only its row groups), and each window's
-- first day.
edge_rows as (
    select upload_batch_id, sent_date, sent_at, hard_bounced
    from fct_rated_outcomes
    where sent and portal_id in (select portal_id from members)
        and sent_date = cast($as_of::timestamptz as date)
        and sent_at <= $as_of::timestamptz
    union all
    select upload_batch_id, sent_date, sent_at, hard_bounced
    from fct_rated_outcomes
    where sent and portal_id in (select portal_id from members)
        and sent_date in (select cast(starts_after as date) from windows)
        and sent_date <> cast($as_of::timestamptz as date)
),

edge_days as (
    select
        w.window_name,
        r.upload_batch_id,
        count(*) as sent,
        count(*) filter (where r.hard_bounced) as hard_bounced
    from edge_rows as r
    inner join windows as w
        on r.sent_at > w.starts_after
        and (r.sent_date = cast(w.starts_after as date) or r.sent_date = cast($as_of::timestamptz as date))
    group by w.window_name, r.upload_batch_id
),

counts as (
    select
        window_name,
        upload_batch_id,
        cast(sum(sent) as bigint) as sent,
        cast(sum(hard_bounced) as bigint) as hard_bounced
    from (
        select * from whole_days
        union all
        select * from edge_days
    )
    group by window_name, upload_batch_id
),

worst as (
    select upload_batch_id, sent, hard_bounced
    from counts
    where window_name = 'baseline' and upload_batch_id is not null and hard_bounced > 0
    order by hard_bounced desc, hard_bounced / sent desc, upload_batch_id
    limit 1
),

final as (
    select
        (select cast(coalesce(sum(sent), 0) as bigint) from counts where window_name = 'baseline')
            as baseline_sent,
        (select cast(coalesce(sum(hard_bounced), 0) as bigint) from counts where window_name = 'baseline')
            as baseline_hard_bounced,
        (select upload_batch_id from worst) as worst_batch_id,
        coalesce((select sent from worst), 0) as worst_batch_sent,
        coalesce((select hard_bounced from worst), 0) as worst_batch_hard_bounced,
        (select cast(coalesce(sum(sent), 0) as bigint) from counts where window_name = 'trend')
            as trend_sent,
        (select cast(coalesce(sum(hard_bounced), 0) as bigint) from counts where window_name = 'trend')
            as trend_hard_bounced
)

select * from final
