-- The alerts (status transitions) recorded by the newest refresh that recorded any: portal, scope,
-- from -> to status, the figures then, with the portal's directory name.
with latest as (
    select max(load_id) as load_id from _alerts
),

final as (
    select
        a.recorded_at,
        a.portal_id,
        p.name,
        a.scope,
        a.from_status,
        a.to_status,
        a.hard_rate,
        a.complaint_rate,
        a.sent,
        a.as_of,
        a.load_id
    from _alerts as a
    inner join latest as l on l.load_id = a.load_id
    left join dir_portals as p on p.portal_id = a.portal_id
)

select * from final
order by
    case to_status when 'disabled' then 0 when 'exceeded' then 1 when 'approaching' then 2 else 3 end,
    portal_id, scope
