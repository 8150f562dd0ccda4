-- grain: one row per lower-cased learner address that the directory places in exactly one portal.
-- Used to attribute events that carry no portal tag; an address in several portals is ambiguous
-- and stays unattributed rather than being guessed. scope: a list of addresses, or null for all.
-- The directory loader stores emails lower-cased and trimmed, so the scope filters the column itself.
-- materialised: scoped view (scope varchar[])
with users as (
    select
        email as recipient,
        portal_id,
        upload_batch_id
    from dir_users
    where email is not null and email <> ''
        and (scope is null or email in (select unnest(scope)))
),

final as (
    select
        recipient,
        any_value(portal_id) as portal_id,
        any_value(upload_batch_id) as upload_batch_id
    from users
    group by recipient
    having count(distinct portal_id) = 1
)

select * from final
