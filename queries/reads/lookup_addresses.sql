-- Addresses containing the search text $q (case-insensitive; %, _ and \ in $q match themselves),
-- from the events and the directory, at most 50: one row per address with where it was seen.
with pattern as (
    select '%' || replace(replace(replace(lower(trim(cast($q as varchar))), '\', '\\'), '%', '\%'), '_', '\_')
        || '%' as p
),

seen as (
    -- Every address with an event has a row in the address facts: a tenth of the events to search.
    select f.recipient as address, f.portal_id, 'events' as seen_in
    from fct_address_facts as f
    where f.recipient ilike (select p from pattern) escape '\'
    union all
    select lower(trim(u.email)), u.portal_id, 'directory'
    from dir_users as u
    where u.email is not null and lower(trim(u.email)) ilike (select p from pattern) escape '\'
),

final as (
    select
        address,
        count(distinct portal_id) as portals,
        bool_or(seen_in = 'events') as in_events,
        bool_or(seen_in = 'directory') as in_directory
    from seen
    where length(trim(cast($q as varchar))) > 0
    group by address
)

select * from final
order by address
limit 50
