-- grain: one row per lower-cased learner address that the directory places in exactly one portal.
-- Used to attribute events that carry no portal tag; an address in several portals is ambiguous
-- and stays unattributed rather than being guessed.
with users as (
    select
        lower(trim(email)) as recipient,
        portal_id,
        upload_batch_id
    from dir_users
    where email is not null and trim(email) <> ''
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
