-- Every portal the address $address (exact, lower-cased) belongs to, from the directory and from its
-- mail: learner, account status, what its mail did there and the recommended action
-- (mart_address_facts; the null portal holds unattributed mail).
with directory as (
    select
        portal_id,
        user_id,
        name,
        status,
        upload_batch_id,
        created_at,
        row_number() over (partition by portal_id order by created_at desc nulls last, user_id) as pick
    from dir_users
    -- The directory loader stores emails lower-cased and trimmed: comparing the column itself lets
    -- the filter reach the table scan instead of lower-casing every directory row.
    where email = lower(trim(cast($address as varchar)))
),

facts as (
    select *
    from mart_address_facts
    -- By key first: an integer test of every row, the address compared only where it matches.
    where recipient_key = address_key(lower(trim(cast($address as varchar))))
        and recipient = lower(trim(cast($address as varchar)))
        -- The address's domain, derived as the loader derives it: a filter on the domain reaches the
        -- table scan through the view's per-domain window, one on the address alone does not.
        and recipient_domain is not distinct from nullif(
            split_part(lower(trim(cast($address as varchar))), '@', -1), lower(trim(cast($address as varchar)))
        )
),

keys as (
    select portal_id from directory where pick = 1
    union
    select portal_id from facts
),

final as (
    select
        k.portal_id,
        p.name as portal_name,
        d.user_id is not null as in_directory,
        coalesce(f.learner_name, d.name) as learner_name,
        coalesce(f.user_status, d.status) as user_status,
        coalesce(f.upload_batch_id, d.upload_batch_id) as upload_batch_id,
        coalesce(f.sends, 0) as sends,
        coalesce(f.deliveries, 0) as deliveries,
        coalesce(f.bounces, 0) as bounces,
        coalesce(f.hard_bounces, 0) as hard_bounces,
        coalesce(f.dead_bounces, 0) as dead_bounces,
        coalesce(f.soft_bounces, 0) as soft_bounces,
        coalesce(f.consecutive_soft_bounces, 0) as consecutive_soft_bounces,
        coalesce(f.complaints, 0) as complaints,
        coalesce(f.suppressed, false) as suppressed,
        f.last_delivery_at,
        f.last_bounce_at,
        f.last_bounce_type,
        f.last_reason,
        f.last_diagnostic,
        f.suggested_address,
        f.last_seen_at,
        coalesce(f.recommended_action, 'none') as recommended_action
    from keys as k
    left join directory as d on d.portal_id is not distinct from k.portal_id and d.pick = 1
    left join facts as f on f.portal_id is not distinct from k.portal_id
    left join dir_portals as p on p.portal_id = k.portal_id
)

select * from final
order by portal_id nulls last
