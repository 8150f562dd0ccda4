-- Replays the status rules of portal_status.sql day by day: every portal (of the list $portals, or all
-- when null; alone, or rolled up with its sub-portals when $rollup) judged at the end of each UTC day
-- from $since to $until (as_of = the day at 23:59:59.999999 UTC) under every policy window of the
-- temp table `policy_windows` ('*' defaults, per-portal overrides). Per window: sends by time of
-- sending in (as_of - days, as_of], judged by macros.sql window_status as portal_status.sql judges:
-- insufficient_volume below min_sent, else exceeded / approaching / ok by the hard-bounce and
-- complaint levels, each rate only with its minimum of events (min_hard_bounces, min_complaints);
-- the worst window decides (ties: more sends, then window name). The directory's `disabled` is today's switch, not history: it is not replayed.
-- Counts come from running totals per portal and UTC day of sending (mart_portal_days), looked up with
-- as-of joins:
-- (lo, hi] = total(<= hi) - total(<= lo). A window is whole days (policy.py) judged at a day's end,
-- so it holds whole days of sending and a day's total is exact; the cost grows with the days and
-- portals of the timeline, not with its sends.
with portals as (
    select portal_id from dim_portals
),

chosen as (
    select portal_id
    from portals
    where in_portals(portal_id, cast($portals as varchar[]))
),

scopes as (
    select
        portal_id as scope_id,
        portal_id
    from chosen
    union
    select
        t.root_portal_id as scope_id,
        t.portal_id
    from dim_portal_tree as t
    inner join chosen as c on c.portal_id = t.root_portal_id
    where $rollup
),

levels as (
    -- policy_windows holds each window's resolved levels for '*' and for every overridden portal.
    select c.portal_id, w.name as window_name, w.* exclude (portal_id, name)
    from chosen as c
    inner join policy_windows as w
        on w.portal_id = case when c.portal_id in (select portal_id from policy_windows) then c.portal_id
            else '*' end
),

days as (
    select cast(d.day as date) as day
    from generate_series($since::date, $until::date, interval 1 day) as d (day)
),

bounds as (
    select
        l.*,
        d.day,
        utc_day_end(d.day) as as_of
    from levels as l
    cross join days as d
),

bounded as (
    select
        *,
        as_of - to_microseconds(cast(days * 86400e6 as bigint)) as starts_after
    from bounds
),

sends as (
    -- Whole days of sending (a window judged at a day's end starts at a day's start): the days' counts.
    select
        s.scope_id,
        d.sent_date as day,
        sum(d.sent) as sent,
        sum(d.hard_bounced) as hard_bounced,
        sum(d.complaints) as complaints
    from mart_portal_days as d
    inner join scopes as s on s.portal_id = d.portal_id
    where d.sent_date <= cast((select max(as_of) from bounded) as date)
        and d.sent_date > cast((select min(starts_after) from bounded) as date)
    group by s.scope_id, d.sent_date
),

running as (
    select
        scope_id,
        day,
        sum(sent) over w as sent,
        sum(hard_bounced) over w as hard_bounced,
        sum(complaints) over w as complaints
    from sends
    window w as (partition by scope_id order by day rows between unbounded preceding and current row)
),

counted as (
    select
        b.portal_id,
        b.window_name,
        b.day,
        b.min_sent,
        b.warning,
        b.cutoff,
        b.complaint_warning,
        b.complaint_cutoff,
        b.min_hard_bounces,
        b.min_complaints,
        cast(coalesce(hi.sent, 0) - coalesce(lo.sent, 0) as bigint) as sent,
        cast(coalesce(hi.hard_bounced, 0) - coalesce(lo.hard_bounced, 0) as bigint) as hard_bounced,
        cast(coalesce(hi.complaints, 0) - coalesce(lo.complaints, 0) as bigint) as complaints
    from bounded as b
    asof left join running as hi on hi.scope_id = b.portal_id and hi.day <= b.day
    asof left join running as lo on lo.scope_id = b.portal_id and lo.day <= b.day - cast(b.days as integer)
),

rated as (
    select
        *,
        hard_bounced / nullif(sent, 0) as hard_rate,
        complaints / nullif(sent, 0) as complaint_rate
    from counted
),

judged as (
    select
        *,
        window_status(
            sent, hard_bounced, complaints, min_sent, min_hard_bounces, min_complaints, warning, cutoff,
            complaint_warning, complaint_cutoff
        ) as status
    from rated
),

ranked as (
    select
        *,
        row_number() over (
            partition by portal_id, day order by window_order(status, sent, window_name)
        ) as window_rank
    from judged
),

final as (
    select
        day,
        portal_id,
        sent,
        hard_bounced,
        hard_rate,
        complaints,
        complaint_rate,
        status,
        window_name as deciding_window
    from ranked
    where window_rank = 1
)

select * from final
order by portal_id, day
