-- The bounced-address list a portal's admin receives (pipelines/reports/export.py): one row per (portal, address)
-- with at least one bounce, for exactly the portal ids in $portals (a list: the caller resolves
-- sub-portals with export_scope.sql). Unattributed mail and other portals never appear.
-- bounce_type is for the address: hard when it has any hard bounce (SES's rule), a dead-address bounce
-- or a place on an SES suppression list; else soft. $kind 'hard' | 'soft' | 'all' filters on it;
-- $since (null: no limit) keeps addresses whose last bounce is at or after it. Times are UTC ISO 8601.
with scope as (
    select f.*
    from mart_address_facts as f
    -- A plain list filter on portal_id: it reaches the table scan through the view.
    where f.bounces > 0
        and list_contains(cast($portals as varchar[]), f.portal_id)
),

typed as (
    select
        *,
        case
            when hard_bounces > 0 or dead_bounces > 0 or suppressed then 'hard' else 'soft'
        end as bounce_type
    from scope
),

final as (
    select
        learner_name,
        recipient as email,
        portal_id,
        user_status,
        bounce_type,
        last_reason as reason,
        last_diagnostic as diagnostic,
        strftime(timezone('UTC', first_bounce_at), '%Y-%m-%dT%H:%M:%SZ') as first_bounce,
        strftime(timezone('UTC', last_bounce_at), '%Y-%m-%dT%H:%M:%SZ') as last_bounce,
        bounces as bounce_count,
        upload_batch_id,
        recommended_action
    from typed
    where cast($kind as varchar) in ('all', bounce_type)
        and ($since is null or last_bounce_at >= cast($since as timestamptz))
)

select * from final
order by portal_id, email
