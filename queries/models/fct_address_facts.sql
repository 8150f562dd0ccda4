-- grain: one row per (portal_id, recipient address) seen in fct_recipient_events; portal_id null holds
-- the unattributed mail. The per-address part of mart_address_facts, which needs every event of the
-- address and its directory entry: kept as a table (fct_address_facts) refreshed at each commit for the
-- addresses a load touched (all after a directory load). scope: null for every address, or
-- struct(recipients varchar[], shared varchar[]): the addresses, and those of them whose address_key()
-- (queries/macros.sql) another address has too (queries/commit/touched_addresses.sql). The outcomes of
-- the others are found by the key alone, the caller vouching that no other address has it; those of
-- `shared` by the key and then by the address itself. The typo verdict judges only their domains.
-- recipient_key: address_key(recipient), as the outcomes carry it: a read of a few addresses finds
-- their rows by an integer test, comparing the address itself only where the key matches.
-- Counts are of messages (one per (message, recipient)), over the whole loaded history:
--   sends, deliveries, complaints; hard_bounces by SES's rule (fct_recipient_outcomes.hard_bounced:
--   Permanent except OnAccountSuppressionList, or a hard bounce from a bounce log); soft_bounces
--   (Transient / Undetermined, or a soft log bounce); bounces = messages with any bounce event;
--   dead_bounces = bounces saying the address itself is dead (bounce_class 'hard': user unknown, host
--   unknown, moved; an SES hard bounce not yet classified counts too); refusals = content / policy /
--   spam / blocked refusals (reason contenterror, policyviolation, spamdetected, blocked, filtered,
--   securityerror, virusdetected, or SES subtype ContentRejected / AttachmentRejected).
-- consecutive_soft_bounces: soft-bounced messages, not delivered, whose bounce came after the
-- address's latest Delivery in this portal (a delivery resets the run; an out-of-office reply to a
-- delivered message is not a failure). last_bounce_*: the latest bounce event of any kind;
-- last_hard_bounce_at: when the latest hard-bounced message bounced;
-- last_attempt_refused: the latest bounce SES attempted (not OnAccountSuppressionList) was a refusal.
-- stale_*: the rule of a stale account (mart_portal_causes' stale_accounts), kept here because only the
-- address's own outcomes decide it: its hard bounces as the rates count them (mart_hard_bounces' rows)
-- that came over 365 days after the account was created, with no delivery to the address anywhere in
-- the account in the 180 days before: the first and last such bounce and the greatest reason.
-- placeholder_subject / role_subject: what names the address a placeholder or a role account (the
-- macros of queries/macros.sql), or null; typo_suggestion: the provider its domain is a likely typo of
-- (int_domain_typos), or null. Judged once per address here rather than by every read of the causes.
-- Directory: dir_users on portal_id + lower(email) (the newest account if the directory lists one
-- twice): learner_name, user_id, user_status, user_created_at; upload_batch_id is the account's batch,
-- else the batch of the address's latest tagged message.
-- materialised: incremental table (scope struct(recipients varchar[], shared varchar[])), ordered by portal_id
with keyed as (
    select address, address_key(address) as recipient_key
    from (select unnest(struct_extract(scope, 'recipients')) as address)
    where not list_contains(struct_extract(scope, 'shared'), address)
),

address_outcomes as (
    -- Every count comes from the per-message outcomes, which also carry what the address needs from
    -- its events: a refresh of a few addresses reads only their outcome rows. The address of a row
    -- found by its key comes from the scope: fetching a few rows' addresses decompresses every vector
    -- they lie in, ten times the cost of all their other columns.
    select o.* exclude (recipient), o.recipient
    from fct_recipient_outcomes as o
    where scope is null
    union all
    select o.* exclude (recipient), k.address
    from fct_recipient_outcomes as o
    inner join keyed as k on k.recipient_key = o.recipient_key
    union all
    select o.* exclude (recipient), o.recipient
    from fct_recipient_outcomes as o
    where o.recipient_key in (
        select address_key(address) from (select unnest(struct_extract(scope, 'shared')) as address)
    )
        and o.recipient in (select unnest(struct_extract(scope, 'shared')))
),

outcomes as (
    -- The columns are named: this CTE is read twice, so it is materialised, and the message ids (the
    -- widest strings) would cost more than every other column together.
    select
        portal_id, recipient, recipient_key, recipient_domain, upload_batch_id, sent_at, is_simulator,
        sent, delivered, hard_bounced, soft_bounced, complained, suppressed, address_hard, bounce_reason,
        bounced_at, first_event_at, last_event_at, last_delivery_at, first_bounce_at, last_bounce_at,
        latest_bounce, latest_attempted_bounce, refused, first_refusal_at, last_refusal_at,
        max(last_delivery_at) over (partition by portal_id, recipient) as address_last_delivery_at
    from address_outcomes
),

-- Each hard bounce the rates count, unless the address had a delivery (rated: SES's mailbox simulator
-- is never an account) anywhere in the account in the 180 days before it.
undelivered_hard_bounces as (
    select h.portal_id, h.recipient, h.bounced_at, h.bounce_reason
    from outcomes as h
    where h.sent and h.hard_bounced and not h.is_simulator
        and not exists (
            select 1
            from outcomes as d
            where d.recipient = h.recipient
                and d.delivered
                and not d.is_simulator
                and d.last_delivery_at < h.bounced_at
                and d.last_delivery_at >= h.bounced_at - interval '180' day
        )
),

address_messages as (
    select
        portal_id,
        recipient,
        any_value(recipient_key) as recipient_key,
        any_value(recipient_domain) as recipient_domain,
        count(*) filter (where sent) as sends,
        count(*) filter (where delivered) as deliveries,
        count(*) filter (where hard_bounced) as hard_bounces,
        count(*) filter (where soft_bounced) as soft_bounces,
        count(*) filter (where bounced_at is not null) as bounces,
        count(*) filter (
            where is_dead_bounce(address_hard, hard_bounced, bounce_reason, suppressed)
        ) as dead_bounces,
        count(*) filter (
            where in_soft_run(soft_bounced, delivered, bounced_at, address_last_delivery_at)
        ) as consecutive_soft_bounces,
        count(*) filter (where complained) as complaints,
        bool_or(suppressed) as suppressed,
        arg_max(upload_batch_id, sent_at) filter (where upload_batch_id is not null) as message_batch_id,
        min(first_event_at) as first_seen_at,
        max(last_event_at) as last_seen_at,
        max(last_delivery_at) as last_delivery_at,
        -- A refusal counts once per message.
        count(*) filter (where refused) as refusals,
        min(first_bounce_at) as first_bounce_at,
        max(last_bounce_at) as last_bounce_at,
        max(bounced_at) filter (where hard_bounced) as last_hard_bounce_at,
        first(latest_bounce order by latest_bounce.bounce_at desc, latest_bounce.reason, latest_bounce.diagnostic)
            filter (where latest_bounce is not null) as latest,
        first(
            latest_attempted_bounce
            order by latest_attempted_bounce.not_attempted, latest_attempted_bounce.bounce_at desc,
                latest_attempted_bounce.reason, latest_attempted_bounce.diagnostic
        ) filter (where latest_attempted_bounce is not null) as latest_attempted,
        min(first_refusal_at) as first_refusal_at,
        max(last_refusal_at) as last_refusal_at
    from outcomes
    group by portal_id, recipient
),

addresses as (
    select
        * exclude (latest, latest_attempted),
        latest.reason as last_reason,
        latest.diagnostic as last_diagnostic,
        latest.bounce_type as last_bounce_type,
        latest.bounce_subtype as last_bounce_subtype,
        latest.bounce_class as last_bounce_class,
        coalesce(not latest_attempted.not_attempted and latest_attempted.refused, false)
            as last_attempt_refused
    from address_messages
),

users as (
    -- The directory loader stores emails lower-cased and trimmed: the scope filters the column itself,
    -- by a list test (its zone maps skip the row groups of dir_users, kept in email order, that hold none
    -- of the addresses; a semi-join would probe every row).
    select
        portal_id,
        email,
        user_id,
        name,
        status,
        upload_batch_id,
        created_at,
        row_number() over (
            partition by portal_id, email
            order by created_at desc nulls last, user_id
        ) as pick
    from dir_users
    where email is not null
        and (scope is null or list_contains(struct_extract(scope, 'recipients'), email))
),

stale as (
    select
        b.portal_id,
        b.recipient,
        min(b.bounced_at) as stale_first_bounce_at,
        max(b.bounced_at) as stale_last_bounce_at,
        max(b.bounce_reason) as stale_bounce_reason
    from undelivered_hard_bounces as b
    inner join users as u on u.portal_id = b.portal_id and u.email = b.recipient and u.pick = 1
    where u.created_at < b.bounced_at - interval '365' day
    group by b.portal_id, b.recipient
),

final as (
    select
        a.portal_id,
        a.recipient,
        a.recipient_key,
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
        a.last_hard_bounce_at,
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
        a.last_attempt_refused,
        s.stale_first_bounce_at,
        s.stale_last_bounce_at,
        s.stale_bounce_reason,
        placeholder_subject(a.recipient, a.recipient_domain) as placeholder_subject,
        role_subject(a.recipient, a.recipient_domain) as role_subject,
        t.suggestion as typo_suggestion
    from addresses as a
    left join users as u on u.portal_id = a.portal_id and u.email = a.recipient and u.pick = 1
    left join stale as s on s.portal_id = a.portal_id and s.recipient = a.recipient
    left join int_domain_typos_for(case when scope is not null then (
        select coalesce(list(address_domain(address) order by address), []::varchar[])
        from (select unnest(struct_extract(scope, 'recipients')) as address)
    ) end) as t on t.domain = a.recipient_domain
)

select * from final
