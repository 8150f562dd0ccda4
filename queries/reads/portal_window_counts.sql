-- One portal ($portal_id; its mail is that of the portals in $portals, from reads.members: the portal,
-- or the portal with its sub-portals) in each policy window of the temp table `policy_windows`
-- (portal_id '*' for the defaults, a portal id for its overrides, applied as in portal_status.sql): the
-- levels with their minimums of sends and of events, and the sends,
-- hard bounces and complaints of what was sent by $as_of that lie in the window ending at step 0 =
-- $as_of, and at steps 1..$horizon = the end of each following UTC day (23:59:59.999999). A window
-- ending at t is (t - days, t], as in rates.sql; nothing sent after $as_of is counted, even at later
-- steps (the projection adds its own assumed sends), so each step counts (t - days, $as_of]
-- (mart_window_sends).
with levels as (
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
        s.ends_at - to_microseconds(cast(l.days * 86400e6 as bigint)) as starts_after
    from steps as s
    cross join levels as l
),

counted as (
    select
        b.*,
        coalesce(c.sent, 0) as sent,
        coalesce(c.hard_bounced, 0) as hard_bounced,
        coalesce(c.complaints, 0) as complaints
    from bounds as b
    left join (
        select
            starts_after,
            sum(sent) as sent,
            sum(hard_bounced) as hard_bounced,
            sum(complaints) as complaints
        from mart_window_sends_for(struct_pack(
            portals := cast($portals as varchar[]),
            as_of := $as_of::timestamptz,
            starts_after := (select list(starts_after order by starts_after) from bounds)
        ))
        group by starts_after
    ) as c on c.starts_after = b.starts_after
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
