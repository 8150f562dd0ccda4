-- grain: one row per (portal_id, recipient address) seen in fct_recipient_events; portal_id null holds
-- the unattributed mail. Each address's counts and directory entry come from fct_address_facts (the
-- incremental table of queries/models/fct_address_facts.sql, which also judges the typo, placeholder
-- and role rules per address); this view adds what spans addresses or is a setting: the domain
-- totals, the typo-corrected address and the recommended action.
-- domain_sends / domain_refusals: the recipient domain's totals in this portal (fct_portal_domains);
-- domain_rejects_content when it refused >= 5 messages and >= 20 % of its sends there
-- (mart_portal_causes reports these).
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
-- materialised: view
with addresses as (
    -- The domain's totals kept at commit (a few rows per portal), not summed over its addresses here.
    select
        f.*,
        d.sends as domain_sends,
        d.refusals as domain_refusals
    from fct_address_facts as f
    left join fct_portal_domains as d
        on d.portal_id is not distinct from f.portal_id
        and d.recipient_domain is not distinct from f.recipient_domain
),

facts as (
    select
        a.*,
        coalesce(a.domain_refusals >= 5 and a.domain_refusals >= 0.2 * a.domain_sends, false)
            as domain_rejects_content,
        case
            when a.typo_suggestion is not null
                then left(a.recipient, length(a.recipient) - length(a.recipient_domain)) || a.typo_suggestion
        end as suggested_address
    from addresses as a
),

final as (
    select
        portal_id,
        recipient,
        recipient_key,
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
        stale_first_bounce_at,
        stale_last_bounce_at,
        stale_bounce_reason,
        placeholder_subject,
        role_subject,
        typo_suggestion,
        suggested_address,
        case
            when suggested_address is not null then 'fix typo: ' || suggested_address
            when dead_bounces >= 1 or (suppressed and complaints = 0 and refusals = 0) then 'deactivate'
            when last_attempt_refused and domain_rejects_content
                then 'ask their IT to allow-list our sender'
            when consecutive_soft_bounces >= soft_bounces_before_suppress() then 'suppress'
            when complaints >= 1 then 'stop mailing (complaint)'
            else 'none'
        end as recommended_action
    from facts
)

select * from final
