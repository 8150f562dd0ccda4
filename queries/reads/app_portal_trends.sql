-- Each portal's daily hard-bounce rate over the $window_days days up to $as_of, oldest first,
-- as a list for a sparkline (days without sends are left out): the window's sends by day
-- (mart_window_sends), its first and last day counted only from their instants inside it.
with days as (
    select
        portal_id,
        sent_date,
        sum(sent) as sent,
        sum(hard_bounced) as hard_bounced
    from mart_window_sends_for(struct_pack(
        portals := cast(null as varchar[]),
        as_of := $as_of::timestamptz,
        starts_after := [$as_of::timestamptz - to_days(cast($window_days as integer))]
    ))
    group by portal_id, sent_date
),

daily as (
    select portal_id, sent_date, hard_bounced / sent as hard_rate
    from days
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
