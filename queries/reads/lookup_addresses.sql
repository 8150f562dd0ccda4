-- Addresses containing the search text $q (case-insensitive, taken literally: no wildcards), from the
-- events and the directory, at most 50: one row per address with where it was seen.
-- Both sides are stored lower-cased (the loader and the directory load lower-case every address), so a
-- plain substring test of the lower-cased text is the case-insensitive search, without LIKE's cost.
with needle as (
    select lower(trim(cast($q as varchar))) as text
),

seen as (
    -- Every address with an event has a row in the address facts: a tenth of the events to search.
    select f.recipient as address, f.portal_id, 'events' as seen_in
    from fct_address_facts as f
    where contains(f.recipient, (select text from needle))
    union all
    select u.email, u.portal_id, 'directory'
    from dir_users as u
    where contains(u.email, (select text from needle))
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
