-- grain: one row per known portal: every portal of the directory, and every portal only mail names
-- (tagged events of a portal the directory does not list): portal_id, name and parent_portal_id (null
-- when only mail names it), email_enabled (the directory's switch; true for a portal it does not
-- list), in_directory. The one list of portals every status, export and picker reads.
-- materialised: view
with directory as (
    select
        portal_id,
        name,
        parent_portal_id,
        email_enabled,
        true as in_directory
    from dir_portals
),

mail_only as (
    select distinct
        portal_id,
        cast(null as varchar) as name,
        cast(null as varchar) as parent_portal_id,
        true as email_enabled,
        false as in_directory
    -- A portal with an address fact has its domains' rows: the same portals from a few rows each.
    from fct_portal_domains
    where portal_id is not null and portal_id not in (select portal_id from dir_portals)
),

final as (
    select * from directory
    union all
    select * from mail_only
)

select * from final
