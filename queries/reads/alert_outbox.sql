-- The alert outbox of one channel ($channel): every status change recorded since the channel was
-- first seen (_alert_channels.since_load_id) that it has not delivered, skipped or given up on, and
-- whose next attempt is due by $now. One row per alert, oldest first, with the portal's name and
-- the channel's attempts so far (0: never tried).
with channel as (
    select since_load_id from _alert_channels where channel = $channel
),

state as (
    select * from _alert_deliveries where channel = $channel
),

final as (
    select
        a.alert_id,
        a.load_id,
        a.recorded_at,
        a.as_of,
        a.portal_id,
        p.name,
        a.scope,
        a.from_status,
        a.to_status,
        a.hard_rate,
        a.complaint_rate,
        a.sent,
        a.deciding_window,
        coalesce(s.attempts, 0) as attempts,
        s.first_attempt_at
    from _alerts as a
    inner join channel as c on a.load_id >= c.since_load_id
    left join state as s on s.alert_id = a.alert_id
    left join dir_portals as p on p.portal_id = a.portal_id
    where a.alert_id is not null
        and s.delivered_at is null
        and s.gave_up_at is null
        and s.skipped_at is null
        and (s.next_attempt_at is null or s.next_attempt_at <= $now::timestamptz)
)

select * from final
order by recorded_at, portal_id, scope
