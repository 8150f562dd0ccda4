-- Each portal's daily hard-bounce rate over the $window_days days up to $as_of, oldest first,
-- as a list for a sparkline (days without sends are left out).
with daily as (
    select
        portal_id,
        sent_date,
        count(*) filter (where hard_bounced) / count(*) as hard_rate
    from fct_rated_outcomes
    where sent and portal_id is not null
        and sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        -- The window by send date too (implied: sent_date is sent_at's UTC date): a lake prunes by it.
        and sent_date between cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
            and cast($as_of::timestamptz as date)
    group by portal_id, sent_date
),

final as (
    select
        portal_id,
        list(hard_rate order by sent_date) as trend
    from daily
    group by portal_id
)

select * from final
