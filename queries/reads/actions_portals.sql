-- The portal decisions of the actions feed (pipelines/reports/actions.py): one row per status
-- transition a refresh recorded in _alerts for a portal alone (scope 'alone': the LMS switches one
-- portal's mail, never a subtree's) that the policy turns into an action, oldest first:
--   portal_over_cutoff  to 'exceeded' (the cutoff), from any status: first judged already over it, or
--                       re-enabled by the directory while still over it. Not to 'disabled': that
--                       status says the directory has already switched the portal's mail off.
--   portal_recovered    from 'approaching' or 'exceeded' to 'ok': back under the warning level, a
--                       candidate to restore. (A disabled portal stays 'disabled' whatever its rate, so
--                       its recovery is recorded only once the directory re-enables it.)
-- The statuses are window_status's (queries/macros.sql). committed_us: the alert's recorded_at (epoch
-- microseconds), its refresh's commit time, which a rebuild carries over with the alert.
-- Both kinds are listed; the caller keeps those the policy defines. $since: the commit time the caller
-- has seen (null: every transition).
with transitions as (
    select
        a.*,
        case
            when a.to_status = 'exceeded' then 'portal_over_cutoff'
            when a.to_status = 'ok' and a.from_status in ('approaching', 'exceeded') then 'portal_recovered'
        end as kind
    from _alerts as a
    where a.scope = 'alone'
        and ($since is null or a.recorded_at > cast($since as timestamptz))
),

final as (
    select
        t.kind,
        t.portal_id,
        p.name as portal_name,
        t.from_status,
        t.to_status,
        t.hard_rate,
        t.complaint_rate,
        t.sent,
        strftime(timezone('UTC', t.as_of), '%Y-%m-%dT%H:%M:%SZ') as as_of,
        epoch_us(t.recorded_at) as committed_us,
        strftime(timezone('UTC', t.recorded_at), '%Y-%m-%dT%H:%M:%S.%fZ') as committed_at
    from transitions as t
    left join dir_portals as p on p.portal_id = t.portal_id
    where t.kind is not null
)

select * from final
order by committed_us, kind, portal_id
