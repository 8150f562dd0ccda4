-- grain: one row per (portal_id, recipient address) seen in fct_recipient_events; portal_id null holds
-- the unattributed mail. The per-address counts come from fct_address_history (the table kept equal to
-- int_address_history; queries/scoped/address_history.sql defines every count); this view adds what
-- changes without new mail or spans addresses: the directory, the domain totals, typos and the action.
-- domain_sends / domain_refusals: the recipient domain's totals in this portal; domain_rejects_content
-- when it refused >= 5 messages and >= 20 % of its sends there (mart_portal_causes reports these).
-- Directory: dir_users on portal_id + lower(email) (the newest account if the directory lists one twice).
--
-- recommended_action, first match wins (the whole vocabulary):
--   'fix typo: <address>'   the domain is a likely typo of a major provider (int_domain_typos)
--   'deactivate'            >= 1 dead-address bounce; or on an SES suppression list with no complaint
--                           or refusal on record (it got there by hard-bouncing before our history)
--   'ask their IT to allow-list our sender'
--                           the latest attempted bounce (not OnAccountSuppressionList) was a refusal
--                           and the domain rejects content in this portal (domain_rejects_content)
--   'suppress'              >= N consecutive soft bounces, N = session variable
--                           soft_bounces_before_suppress (the policy's [address] value; 3 when unset)
--   'stop mailing (complaint)'  >= 1 complaint
--   'none'
-- An SES hard bounce that is a policy or content refusal (Permanent 5.7.1) is not a dead address: it
-- counts in hard_bounces (the rate) but never deactivates the learner; it asks for allow-listing when
-- the domain refuses a lot, and is otherwise left to the rules below it.
with addresses as (
    select * from fct_address_history
),

users as (
    select
        portal_id,
        lower(trim(email)) as email,
        user_id,
        name,
        status,
        upload_batch_id,
        created_at,
        row_number() over (
            partition by portal_id, lower(trim(email))
            order by created_at desc nulls last, user_id
        ) as pick
    from dir_users
    where email is not null
),

domains as (
    select
        portal_id,
        recipient_domain,
        cast(sum(sends) as bigint) as domain_sends,
        cast(sum(refusals) as bigint) as domain_refusals
    from addresses
    group by portal_id, recipient_domain
),

facts as (
    select
        a.portal_id,
        a.recipient,
        a.recipient_domain,
        u.name as learner_name,
        u.user_id,
        u.status as user_status,
        coalesce(u.upload_batch_id, a.message_batch_id) as upload_batch_id,
        u.created_at as user_created_at,
        a.sends,
        a.deliveries,
        a.bounces,
        a.hard_bounces,
        a.soft_bounces,
        a.dead_bounces,
        a.refusals,
        a.consecutive_soft_bounces,
        a.complaints,
        coalesce(a.suppressed, false) as suppressed,
        a.first_bounce_at,
        a.last_bounce_at,
        a.last_reason,
        a.last_diagnostic,
        a.last_bounce_type,
        a.last_bounce_subtype,
        a.last_bounce_class,
        a.last_delivery_at,
        a.first_refusal_at,
        a.last_refusal_at,
        a.first_seen_at,
        a.last_seen_at,
        d.domain_sends,
        d.domain_refusals,
        coalesce(d.domain_refusals >= 5 and d.domain_refusals >= 0.2 * d.domain_sends, false)
            as domain_rejects_content,
        a.last_attempt_refused,
        t.suggestion as typo_suggestion,
        case
            when t.suggestion is not null
                then left(a.recipient, length(a.recipient) - length(a.recipient_domain)) || t.suggestion
        end as suggested_address
    from addresses as a
    left join domains as d
        on d.portal_id is not distinct from a.portal_id
        and d.recipient_domain is not distinct from a.recipient_domain
    left join users as u on u.portal_id = a.portal_id and u.email = a.recipient and u.pick = 1
    left join int_domain_typos as t on t.domain = a.recipient_domain
),

final as (
    select
        portal_id,
        recipient,
        recipient_domain,
        learner_name,
        user_id,
        user_status,
        upload_batch_id,
        user_created_at,
        sends,
        deliveries,
        bounces,
        hard_bounces,
        soft_bounces,
        dead_bounces,
        refusals,
        consecutive_soft_bounces,
        complaints,
        suppressed,
        first_bounce_at,
        last_bounce_at,
        last_reason,
        last_diagnostic,
        last_bounce_type,
        last_bounce_subtype,
        last_bounce_class,
        last_delivery_at,
        first_refusal_at,
        last_refusal_at,
        first_seen_at,
        last_seen_at,
        domain_sends,
        domain_refusals,
        domain_rejects_content,
        last_attempt_refused,
        typo_suggestion,
        suggested_address,
        case
            when suggested_address is not null then 'fix typo: ' || suggested_address
            when dead_bounces >= 1 or (suppressed and complaints = 0 and refusals = 0) then 'deactivate'
            when last_attempt_refused and domain_rejects_content
                then 'ask their IT to allow-list our sender'
            when consecutive_soft_bounces
                >= coalesce(cast(getvariable('soft_bounces_before_suppress') as integer), 3)
                then 'suppress'
            when complaints >= 1 then 'stop mailing (complaint)'
            else 'none'
        end as recommended_action
    from facts
)

select * from final
