-- How one portal has been sending (the mail of the portals in $portals, from reads.members: the portal,
-- or the portal with its sub-portals), for the forecast: over the baseline window
-- ($as_of - $baseline_days days, $as_of] its sends and hard bounces, and those of its worst upload
-- batch (the batch with the most hard bounces there, ties to the higher rate, then the lower id; none
-- when no batch hard-bounced); over the trend window ($as_of - $trend_days days, $as_of] its sends and
-- hard bounces. By time of sending, without SES's mailbox-simulator mail, as every rate
-- (mart_window_sends).
with windows as (
    select
        'baseline' as window_name,
        $as_of::timestamptz - to_microseconds(cast($baseline_days * 86400e6 as bigint)) as starts_after
    union all
    select
        'trend',
        $as_of::timestamptz - to_microseconds(cast($trend_days * 86400e6 as bigint))
),

counts as (
    select
        w.window_name,
        s.upload_batch_id,
        cast(sum(s.sent) as bigint) as sent,
        cast(sum(s.hard_bounced) as bigint) as hard_bounced
    from mart_window_sends_for(struct_pack(
        portals := cast($portals as varchar[]),
        as_of := $as_of::timestamptz,
        starts_after := [
            $as_of::timestamptz - to_microseconds(cast($baseline_days * 86400e6 as bigint)),
            $as_of::timestamptz - to_microseconds(cast($trend_days * 86400e6 as bigint))
        ]
    )) as s
    inner join windows as w on w.starts_after = s.starts_after
    group by w.window_name, s.upload_batch_id
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
