-- Every portal the directory or any event names: id, name (null when only mail names it), parent.
with known as (
    select portal_id, name, parent_portal_id from dir_portals
    union all
    select distinct portal_id, cast(null as varchar), cast(null as varchar)
    from fct_address_facts
    where portal_id is not null and portal_id not in (select portal_id from dir_portals)
)

select * from known
order by portal_id
