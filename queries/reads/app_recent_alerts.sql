-- The alerts (status transitions) recorded by the newest refresh that recorded any: portal, scope,
-- from -> to status, the figures then, with the portal's directory name and where each alert went
-- (`delivery`: per channel that takes it, "delivered", "retrying (n failed)" or "undeliverable";
-- null when no channel has tried it).
with latest as (
    select max(load_id) as load_id from _alerts
),

delivery as (
    select
        alert_id,
        string_agg(
            channel || ': ' || case
                when delivered_at is not null then 'delivered'
                when gave_up_at is not null then 'undeliverable'
                else 'retrying (' || attempts || ' failed)'
            end,
            ', ' order by channel
        ) as delivery
    from _alert_deliveries
    where skipped_at is null
    group by alert_id
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
        a.load_id,
        d.delivery
    from _alerts as a
    inner join latest as l on l.load_id = a.load_id
    left join dir_portals as p on p.portal_id = a.portal_id
    left join delivery as d on d.alert_id = a.alert_id
)

select * from final
order by
    case to_status when 'disabled' then 0 when 'exceeded' then 1 when 'approaching' then 2 else 3 end,
    portal_id, scope
