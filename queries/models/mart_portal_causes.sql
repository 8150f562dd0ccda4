-- grain: one row per (portal_id, cause, subject): a likely cause of a portal's bounces, with its
-- evidence, over the whole loaded history (no window); first_seen / last_seen date the evidence.
-- portal_id null is the unattributed mail. Causes:
--   typo_domain        subject = a recipient domain that is a typo of a major provider (int_domain_typos);
--                      evidence = addresses at it; suggestion = the provider's domain
--   placeholder_address subject = a reserved / test / throwaway domain, else the placeholder local part
--                      as 'test@' (fct_address_facts.placeholder_subject); evidence = addresses
--   role_account       subject = the role local part, e.g. 'info@' (fct_address_facts.role_subject);
--                      evidence = addresses
--   domain_rejecting_content  subject = a recipient domain that refused >= 5 messages and >= 20 % of
--                      its sends in the portal for content, policy, spam, blocking or filtering
--                      (mart_address_facts.domain_rejects_content); evidence = refusals; rate = of sends
--   bad_upload_batch   subject = a batch id (the message's upload_batch_id tag) whose hard-bounce rate is
--                      >= 5 % over >= 20 sends, with >= 5 hard bounces, and >= 3x the portal's rate outside it (a portal with no
--                      other sends, or none bounced, has baseline 0); evidence = hard bounces (SES rule)
--   stale_accounts     subject = the rule; evidence = addresses that hard-bounced more than 365 days
--                      after their account was created, with no delivery in the 180 days before
-- Typo, placeholder and role rows count every address seen, bounced or not (bounced_addresses says how
-- many bounced). Columns: evidence + evidence_unit ('addresses' | 'refusals' | 'hard bounces');
-- addresses (distinct) and bounced_addresses (of those, with any bounce); sends, rate (evidence / sends)
-- for a domain or batch, baseline_rate for a batch (the portal's hard-bounce rate outside it; SES
-- mailbox-simulator mail left out); an example address (a bounced one, the latest) and example_detail
-- (its last bounce reason; a refusing domain: the refusal's diagnostic; a batch or stale account: the
-- reason of the hard bounce counted); suggestion (typo: the provider's domain); batch_filename and
-- batch_uploaded_at from dir_batches; first_seen / last_seen: the addresses' first and last events,
-- the first and last refusal, or the first and last hard bounce counted.
-- scope: a list of portal ids, or null for every portal (the unattributed mail included). Causes are
-- per portal, so a scoped run gives exactly the scoped portals' rows of the full one.
-- materialised: scoped view (scope varchar[])
-- facts and addresses are inlined into each cause's branch (not materialised once for all of them):
-- each branch's own filter (a placeholder, a refusing domain, ...) then reaches the table scan, so an
-- account-wide read of one cause never copies every address.
with facts as not materialized (
    select * from mart_address_facts
    where scope is null or list_contains(scope, portal_id)
),

-- The portals' hard bounces and their sends per batch, from the tables kept for them at commit: a
-- portal's few hard bounces and its days x batches counts, not every outcome it has.
hard_bounces as (
    select portal_id, upload_batch_id, recipient, bounced_at, bounce_reason
    from mart_hard_bounces
    where scope is null or list_contains(scope, portal_id)
),

addresses as not materialized (
    select
        f.*,
        f.bounces > 0 as has_bounced
    from facts as f
),

-- One row per (portal, cause, subject, address) with what the address contributes.
typo_rows as (
    select
        portal_id,
        'typo_domain' as cause,
        recipient_domain as subject,
        recipient,
        1 as evidence,
        has_bounced,
        first_seen_at as first_seen,
        last_seen_at as last_seen,
        typo_suggestion as suggestion,
        last_reason as detail
    from addresses
    where typo_suggestion is not null
),

placeholder_rows as (
    select
        a.portal_id,
        'placeholder_address' as cause,
        a.placeholder_subject as subject,
        a.recipient,
        1 as evidence,
        a.has_bounced,
        a.first_seen_at as first_seen,
        a.last_seen_at as last_seen,
        cast(null as varchar) as suggestion,
        a.last_reason as detail
    from addresses as a
    where a.placeholder_subject is not null
),

role_rows as (
    select
        a.portal_id,
        'role_account' as cause,
        a.role_subject as subject,
        a.recipient,
        1 as evidence,
        a.has_bounced,
        a.first_seen_at as first_seen,
        a.last_seen_at as last_seen,
        cast(null as varchar) as suggestion,
        a.last_reason as detail
    from addresses as a
    where a.role_subject is not null
),

content_rows as (
    select
        portal_id,
        'domain_rejecting_content' as cause,
        recipient_domain as subject,
        recipient,
        refusals as evidence,
        has_bounced,
        first_refusal_at as first_seen,
        last_refusal_at as last_seen,
        cast(null as varchar) as suggestion,
        case when last_attempt_refused then last_diagnostic end as detail
    from addresses
    where domain_rejects_content and refusals > 0
),

batch_sends as (
    select
        portal_id,
        upload_batch_id,
        cast(sum(sent) as bigint) as sends,
        cast(sum(hard_bounced) as bigint) as hard_bounces
    from mart_portal_days
    where scope is null or list_contains(scope, portal_id)
    group by portal_id, upload_batch_id
),

batch_rates as (
    select
        portal_id,
        upload_batch_id,
        sends,
        hard_bounces,
        hard_bounces / nullif(sends, 0) as rate,
        coalesce(
            (sum(hard_bounces) over (partition by portal_id) - hard_bounces)
            / nullif(sum(sends) over (partition by portal_id) - sends, 0),
            0
        ) as baseline_rate
    from batch_sends
),

bad_batches as (
    select *
    from batch_rates
    where upload_batch_id is not null
        and sends >= 20
        -- A couple of bounces in a small batch is noise, not a bad upload.
        and hard_bounces >= 5
        and rate >= 0.05
        and rate >= 3 * baseline_rate
),

batch_rows as (
    select
        o.portal_id,
        'bad_upload_batch' as cause,
        o.upload_batch_id as subject,
        o.recipient,
        count(*) as evidence,
        true as has_bounced,
        min(o.bounced_at) as first_seen,
        max(o.bounced_at) as last_seen,
        cast(null as varchar) as suggestion,
        max(o.bounce_reason) as detail
    from hard_bounces as o
    inner join bad_batches as b
        on b.portal_id is not distinct from o.portal_id and b.upload_batch_id = o.upload_batch_id
    group by o.portal_id, o.upload_batch_id, o.recipient
),

-- The address facts judge each address's hard bounces by the rule (fct_address_facts.stale_*).
stale_rows as (
    select
        portal_id,
        'stale_accounts' as cause,
        'created >365 days before the bounce, no delivery in the 180 days before it' as subject,
        recipient,
        1 as evidence,
        true as has_bounced,
        stale_first_bounce_at as first_seen,
        stale_last_bounce_at as last_seen,
        cast(null as varchar) as suggestion,
        stale_bounce_reason as detail
    from addresses
    where stale_first_bounce_at is not null
),

evidence_rows as (
    select * from typo_rows
    union all
    select * from placeholder_rows
    union all
    select * from role_rows
    union all
    select * from content_rows
    union all
    select * from batch_rows
    union all
    select * from stale_rows
),

picked as (
    select
        *,
        row_number() over (
            partition by portal_id, cause, subject
            order by has_bounced desc, last_seen desc, recipient
        ) as example_pick
    from evidence_rows
),

grouped as (
    select
        portal_id,
        cause,
        subject,
        cast(sum(evidence) as bigint) as evidence,
        count(distinct recipient) as addresses,
        count(distinct recipient) filter (where has_bounced) as bounced_addresses,
        max(case when example_pick = 1 then recipient end) as example,
        max(case when example_pick = 1 then detail end) as example_detail,
        max(suggestion) as suggestion,
        min(first_seen) as first_seen,
        max(last_seen) as last_seen
    from picked
    group by portal_id, cause, subject
),

domain_figures as (
    select
        portal_id,
        recipient_domain,
        max(domain_sends) as sends,
        max(domain_refusals) / nullif(max(domain_sends), 0) as rate
    from addresses
    where domain_rejects_content
    group by portal_id, recipient_domain
),

final as (
    select
        g.portal_id,
        g.cause,
        g.subject,
        g.evidence,
        case
            when g.cause = 'domain_rejecting_content' then 'refusals'
            when g.cause = 'bad_upload_batch' then 'hard bounces'
            else 'addresses'
        end as evidence_unit,
        g.addresses,
        g.bounced_addresses,
        coalesce(b.sends, d.sends) as sends,
        coalesce(b.rate, d.rate) as rate,
        b.baseline_rate,
        g.example,
        g.example_detail,
        g.suggestion,
        db.filename as batch_filename,
        db.uploaded_at as batch_uploaded_at,
        g.first_seen,
        g.last_seen
    from grouped as g
    left join bad_batches as b
        on g.cause = 'bad_upload_batch'
        and b.portal_id is not distinct from g.portal_id and b.upload_batch_id = g.subject
    left join domain_figures as d
        on g.cause = 'domain_rejecting_content'
        and d.portal_id is not distinct from g.portal_id and d.recipient_domain = g.subject
    left join dir_batches as db
        on g.cause = 'bad_upload_batch' and db.batch_id = g.subject
        and db.portal_id is not distinct from g.portal_id
)

select * from final
