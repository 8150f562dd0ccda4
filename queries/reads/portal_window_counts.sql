-- One portal ($portal_id, with its sub-portals when $rollup) in each policy window of the temp
-- table `policy_windows` (portal_id '*' for the defaults, a portal id for its overrides, applied as
-- in portal_status.sql): the levels with their minimums of sends and of events, and the sends,
-- hard bounces and complaints of what was sent by $as_of that lie in the window ending at step 0 =
-- $as_of, and at steps 1..$horizon = the end of each following UTC day (23:59:59.999999). A window ending at t is (t - days, t], as in
-- rates.sql; a row counts by when it was sent, so a bounce of an older send never counts. Nothing
-- sent after $as_of is counted, even at later steps: the projection adds its own assumed sends.
-- Counts come from running totals per send instant: (lo, hi] = total(<= hi) - total(<= lo); a whole
-- day's sends are one instant, its last microsecond, as no bound falls inside it.
with members as (
    select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))) as portal_id
),

levels as (
    -- policy_windows holds each window's resolved levels for '*' and for every overridden portal.
    select w.name as window_name, w.* exclude (portal_id, name)
    from policy_windows as w
    where w.portal_id = case when $portal_id in (select portal_id from policy_windows) then $portal_id
        else '*' end
),

steps as (
    select
        0 as step,
        $as_of::timestamptz as ends_at
    union all
    select
        cast(s.step as integer) as step,
        timezone(
            'UTC',
            cast(cast(timezone('UTC', $as_of::timestamptz) as date) as timestamp)
            + to_days(cast(s.step + 1 as integer)) - interval 1 microsecond
        ) as ends_at
    from range(1, cast($horizon as bigint) + 1) as s (step)
),

bounds as (
    select
        s.step,
        s.ends_at,
        l.*,
        s.ends_at - to_microseconds(cast(l.days * 86400e6 as bigint)) as starts_after,
        least(s.ends_at, $as_of::timestamptz) as counted_until
    from steps as s
    cross join levels as l
),

-- The send days a bound falls inside of (not at their last microsecond): counted per send instant from
-- the outcomes. Every other day lies whole on one side of every bound: its counts from mart_portal_days,
-- as one point at its last microsecond.
edge_days as (
    select distinct cast(t as date) as sent_date
    from (
        select starts_after as t from bounds
        union all
        select counted_until from bounds
    ) as b
    where t <> utc_day_end(cast(t as date))
),

points as (
    select
        utc_day_end(d.sent_date) as sent_at,
        d.sent,
        d.hard_bounced,
        d.complaints
    from mart_portal_days as d
    where d.portal_id in (select portal_id from members)
        and d.sent_date between cast((select min(starts_after) from bounds) as date)
            and cast($as_of::timestamptz as date)
        and d.sent_date not in (select sent_date from edge_days)
    union all
    select
        o.sent_at,
        1 as sent,
        case when o.hard_bounced then 1 else 0 end as hard_bounced,
        case when o.complained then 1 else 0 end as complaints
    from fct_rated_outcomes as o
    where o.sent
        and o.portal_id in (select portal_id from members)
        and o.sent_at <= $as_of::timestamptz
        and o.sent_at > (select min(starts_after) from bounds)
        and o.sent_date in (select sent_date from edge_days)
),

sends as (
    select
        sent_at,
        sum(sent) as sent,
        sum(hard_bounced) as hard_bounced,
        sum(complaints) as complaints
    from points
    group by sent_at
),

running as (
    select
        sent_at,
        sum(sent) over (order by sent_at rows between unbounded preceding and current row) as sent,
        sum(hard_bounced) over (order by sent_at rows between unbounded preceding and current row)
            as hard_bounced,
        sum(complaints) over (order by sent_at rows between unbounded preceding and current row)
            as complaints
    from sends
),

counted as (
    select
        b.*,
        greatest(coalesce(hi.sent, 0) - coalesce(lo.sent, 0), 0) as sent,
        greatest(coalesce(hi.hard_bounced, 0) - coalesce(lo.hard_bounced, 0), 0) as hard_bounced,
        greatest(coalesce(hi.complaints, 0) - coalesce(lo.complaints, 0), 0) as complaints
    from bounds as b
    asof left join running as hi on hi.sent_at <= b.counted_until
    asof left join running as lo on lo.sent_at <= b.starts_after
),

final as (
    select
        step,
        ends_at,
        window_name,
        days,
        min_sent,
        warning,
        cutoff,
        complaint_warning,
        complaint_cutoff,
        min_hard_bounces,
        min_complaints,
        cast(sent as bigint) as sent,
        cast(hard_bounced as bigint) as hard_bounced,
        cast(complaints as bigint) as complaints
    from counted
)

select * from final
order by step, window_name
