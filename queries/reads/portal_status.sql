-- Status of every portal at $as_of under the policy windows in the temp table `policy_windows`
-- (portal_id '*' for the defaults, a portal id for its overrides), alone and rolled up with its
-- sub-portals. Per window (macros.sql window_status): insufficient_volume below min_sent, else
-- exceeded / approaching / ok by the hard-bounce and complaint levels, each rate judged only with at
-- least its minimum of events (min_hard_bounces, min_complaints); the worst window decides; a portal
-- whose mail the directory switched off is disabled.
with portals as (
    select portal_id, name, parent_portal_id, email_enabled from dim_portals
),

levels as (
    -- policy_windows holds each window's resolved levels for '*' and for every overridden portal.
    select p.portal_id, w.name as window_name, w.* exclude (portal_id, name)
    from portals as p
    inner join policy_windows as w
        on w.portal_id = case when p.portal_id in (select portal_id from policy_windows) then p.portal_id
            else '*' end
),

scopes as (
    select portal_id as scope_id, portal_id, 'alone' as scope from portals
    union all
    select root_portal_id, portal_id, 'rollup' from dim_portal_tree
),

window_lengths as (
    select distinct
        days,
        $as_of::timestamptz - to_microseconds(cast(days * 86400e6 as bigint)) as starts_after
    from policy_windows
),

-- Each portal's counts for each window length (mart_window_sends); roll-ups then add up their members'
-- counts instead of reading the rows once per ancestor.
portal_counts as (
    select
        s.portal_id,
        w.days,
        sum(s.sent) as sent,
        sum(s.hard_bounced) as hard_bounced,
        sum(s.soft_bounced) as soft_bounced,
        sum(s.complaints) as complaints
    from mart_window_sends_for(struct_pack(
        portals := cast(null as varchar[]),
        as_of := $as_of::timestamptz,
        starts_after := (select list(starts_after order by starts_after) from window_lengths)
    )) as s
    inner join window_lengths as w on w.starts_after = s.starts_after
    group by s.portal_id, w.days
),

judged as (
    select
        s.scope,
        l.portal_id,
        l.window_name,
        l.min_sent,
        l.warning,
        l.cutoff,
        l.complaint_warning,
        l.complaint_cutoff,
        l.min_hard_bounces,
        l.min_complaints,
        cast(coalesce(sum(c.sent), 0) as bigint) as sent,
        cast(coalesce(sum(c.hard_bounced), 0) as bigint) as hard_bounced,
        cast(coalesce(sum(c.soft_bounced), 0) as bigint) as soft_bounced,
        cast(coalesce(sum(c.complaints), 0) as bigint) as complaints
    from levels as l
    inner join scopes as s on s.scope_id = l.portal_id
    left join portal_counts as c on c.portal_id = s.portal_id and c.days = l.days
    group by all
),

rated as (
    select
        *,
        hard_bounced / nullif(sent, 0) as hard_rate,
        complaints / nullif(sent, 0) as complaint_rate
    from judged
),

window_status as (
    select
        *,
        window_status(
            sent, hard_bounced, complaints, min_sent, min_hard_bounces, min_complaints, warning, cutoff,
            complaint_warning, complaint_cutoff
        ) as window_status
    from rated
),

worst as (
    -- The most severe window decides; on a tie the one with more sends, then by name.
    select
        scope,
        portal_id,
        window_name as deciding_window,
        window_status
    from window_status
    qualify row_number() over (
        partition by scope, portal_id order by window_order(window_status, sent, window_name)
    ) = 1
),

statused as (
    select
        w.*,
        case when not coalesce(p.email_enabled, true) then 'disabled' else w.window_status end as status
    from worst as w
    inner join portals as p on p.portal_id = w.portal_id
),

final as (
    select
        w.scope,
        w.portal_id,
        p.name,
        p.parent_portal_id,
        r.window_name as deciding_window,
        r.sent,
        r.hard_bounced,
        r.hard_rate,
        r.soft_bounced,
        r.complaints,
        r.complaint_rate,
        r.warning,
        r.cutoff,
        r.complaint_warning,
        r.complaint_cutoff,
        w.status,
        status_severity(w.status) as severity,
        status_reason(
            w.status, r.sent, r.hard_bounced, r.complaints, r.min_sent, r.min_hard_bounces,
            r.min_complaints, r.warning, r.cutoff, r.complaint_warning, r.complaint_cutoff
        ) as why
    from statused as w
    inner join window_status as r
        on r.scope = w.scope and r.portal_id = w.portal_id and r.window_name = w.deciding_window
    inner join portals as p on p.portal_id = w.portal_id
)

select * from final
order by scope, portal_id
