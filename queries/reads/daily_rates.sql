-- Per UTC day of sending from $since to $until: sends, hard bounces, complaints and rates, for the
-- account ($portals null) or the portals in $portals (from reads.members: a portal, or a roll-up).
with scoped as (
    select o.*
    from fct_rated_outcomes as o
    where o.sent_date between $since::date and $until::date
        and (
            cast($portals as varchar[]) is null
            or list_contains(cast($portals as varchar[]), o.portal_id)
        )
),

daily as (
    select
        sent_date as day,
        count(*) filter (where sent) as sent_count,
        count(*) filter (where sent and hard_bounced) as hard_count,
        count(*) filter (where sent and soft_bounced) as soft_count,
        count(*) filter (where sent and complained) as complaint_count
    from scoped
    group by sent_date
),

final as (
    select
        day,
        sent_count as sent,
        hard_count as hard_bounced,
        soft_count as soft_bounced,
        complaint_count as complaints,
        hard_count / nullif(sent_count, 0) as hard_rate,
        complaint_count / nullif(sent_count, 0) as complaint_rate
    from daily
)

select * from final
order by day
