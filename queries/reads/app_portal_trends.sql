-- Each portal's daily hard-bounce rate over the $window_days days up to $as_of, oldest first,
-- as a list for a sparkline (days without sends are left out). The whole days between the window's
-- two partial edge days are mart_portal_days' counts; the edge days are counted from the outcomes, to
-- the microsecond (each a constant send date, so the scan reads only its row groups).
with whole_days as (
    select
        portal_id,
        sent_date,
        sum(sent) as sent,
        sum(hard_bounced) as hard_bounced
    from mart_portal_days
    where portal_id is not null
        and sent_date > cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
        and sent_date < cast($as_of::timestamptz as date)
    group by portal_id, sent_date
),

edge_days as (
    select
        portal_id,
        sent_date,
        count(*) as sent,
        count(*) filter (where hard_bounced) as hard_bounced
    from fct_rated_outcomes
    where sent and portal_id is not null
        and sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        and sent_date in (
            cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date),
            cast($as_of::timestamptz as date)
        )
    group by portal_id, sent_date
),

daily as (
    select portal_id, sent_date, hard_bounced / sent as hard_rate
    from (
        select * from whole_days
        union all
        select * from edge_days
    )
    where sent > 0
),

final as (
    select
        portal_id,
        list(hard_rate order by sent_date) as trend
    from daily
    group by portal_id
)

select * from final
