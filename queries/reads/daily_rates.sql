-- Per UTC day of sending from $since to $until: sends, hard bounces, complaints and rates, for the
-- account ($portals null) or the portals in $portals (from reads.members: a portal, or a roll-up).
-- Whole days: the sums of the days' counts (queries/models/mart_portal_days.sql).
with daily as (
    select
        sent_date as day,
        sum(sent) as sent_count,
        sum(hard_bounced) as hard_count,
        sum(soft_bounced) as soft_count,
        sum(complaints) as complaint_count
    from mart_portal_days
    where sent_date between $since::date and $until::date
        and (
            cast($portals as varchar[]) is null
            or list_contains(cast($portals as varchar[]), portal_id)
        )
    group by sent_date
),

final as (
    select
        day,
        cast(sent_count as bigint) as sent,
        cast(hard_count as bigint) as hard_bounced,
        cast(soft_count as bigint) as soft_bounced,
        cast(complaint_count as bigint) as complaints,
        hard_count / nullif(sent_count, 0) as hard_rate,
        complaint_count / nullif(sent_count, 0) as complaint_rate
    from daily
)

select * from final
order by day
