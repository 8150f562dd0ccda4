-- grain: one row per (portal_id, recipient address) seen in fct_recipient_events; portal_id null holds
-- the unattributed mail. The per-address part of mart_address_facts, which needs every event of the
-- address and its directory entry: kept as a table (fct_address_facts) refreshed at each commit for the
-- addresses a load touched (all after a directory load). scope: a list of recipient addresses, or null.
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
-- last_attempt_refused: the latest bounce SES attempted (not OnAccountSuppressionList) was a refusal.
-- Directory: dir_users on portal_id + lower(email) (the newest account if the directory lists one
-- twice): learner_name, user_id, user_status, user_created_at; upload_batch_id is the account's batch,
-- else the batch of the address's latest tagged message.
with outcomes as (
    select
        message_key,
        recipient,
        recipient_domain,
        portal_id,
        upload_batch_id,
        sent_at,
        sent,
        delivered,
        hard_bounced,
        soft_bounced,
        complained,
        suppressed,
        address_hard,
        bounce_reason,
        bounced_at
    from fct_recipient_outcomes
    where scope is null or recipient in (select unnest(scope))
),

-- Per address from its events (the loader gives every event of a message the message's portal).
address_events as (
    select
        portal_id,
        recipient,
        min(coalesce(event_at, sent_at)) as first_seen_at,
        max(coalesce(event_at, sent_at)) as last_seen_at,
        max(case when event_type = 'Delivery' then event_at end) as last_delivery_at
    from fct_recipient_events
    where scope is null or recipient in (select unnest(scope))
    group by portal_id, recipient
),

address_messages as (
    select
        o.portal_id,
        o.recipient,
        any_value(o.recipient_domain) as recipient_domain,
        count(*) filter (where o.sent) as sends,
        count(*) filter (where o.delivered) as deliveries,
        count(*) filter (where o.hard_bounced) as hard_bounces,
        count(*) filter (where o.soft_bounced) as soft_bounces,
        count(*) filter (where o.bounced_at is not null) as bounces,
        -- Dead: classified hard for the address; an SES hard bounce loaded before classification
        -- (no reason) counts too, a suppression-list bounce does not.
        count(*) filter (
            where o.address_hard or (o.hard_bounced and o.bounce_reason is null and not o.suppressed)
        ) as dead_bounces,
        count(*) filter (
            where o.soft_bounced and not o.delivered
                and (a.last_delivery_at is null or o.bounced_at > a.last_delivery_at)
        ) as consecutive_soft_bounces,
        count(*) filter (where o.complained) as complaints,
        bool_or(o.suppressed) as suppressed,
        arg_max(o.upload_batch_id, o.sent_at) filter (where o.upload_batch_id is not null)
            as message_batch_id,
        min(a.first_seen_at) as first_seen_at,
        max(a.last_seen_at) as last_seen_at,
        max(a.last_delivery_at) as last_delivery_at
    from outcomes as o
    left join address_events as a
        on a.recipient = o.recipient and a.portal_id is not distinct from o.portal_id
    group by o.portal_id, o.recipient
),

bounces as (
    select
        portal_id,
        recipient,
        coalesce(message_id, event_key) as message_key,
        coalesce(event_at, sent_at) as event_at,
        bounce_type,
        bounce_subtype,
        bounce_class,
        reason,
        diagnostic,
        coalesce(bounce_subtype, '') = 'OnAccountSuppressionList' as not_attempted,
        coalesce(
            reason in ('contenterror', 'policyviolation', 'spamdetected', 'blocked', 'filtered',
                       'securityerror', 'virusdetected')
            or bounce_subtype in ('ContentRejected', 'AttachmentRejected'),
            false
        ) as is_refusal
    from fct_recipient_events
    where event_type = 'Bounce' and (scope is null or recipient in (select unnest(scope)))
),

bounce_order as (
    select
        *,
        row_number() over (
            partition by portal_id, recipient
            order by event_at desc, reason, diagnostic
        ) as latest,
        row_number() over (
            partition by portal_id, recipient
            order by case when not_attempted then 1 else 0 end, event_at desc, reason, diagnostic
        ) as latest_attempted
    from bounces
),

bounce_summary as (
    select
        portal_id,
        recipient,
        min(event_at) as first_bounce_at,
        max(event_at) as last_bounce_at,
        max(case when latest = 1 then reason end) as last_reason,
        max(case when latest = 1 then diagnostic end) as last_diagnostic,
        max(case when latest = 1 then bounce_type end) as last_bounce_type,
        max(case when latest = 1 then bounce_subtype end) as last_bounce_subtype,
        max(case when latest = 1 then bounce_class end) as last_bounce_class,
        bool_or(latest_attempted = 1 and not not_attempted and is_refusal) as last_attempt_refused,
        count(distinct case when is_refusal then message_key end) as refusals,
        min(case when is_refusal then event_at end) as first_refusal_at,
        max(case when is_refusal then event_at end) as last_refusal_at
    from bounce_order
    group by portal_id, recipient
),

addresses as (
    select
        m.*,
        coalesce(b.refusals, 0) as refusals,
        b.first_bounce_at,
        b.last_bounce_at,
        b.last_reason,
        b.last_diagnostic,
        b.last_bounce_type,
        b.last_bounce_subtype,
        b.last_bounce_class,
        coalesce(b.last_attempt_refused, false) as last_attempt_refused,
        b.first_refusal_at,
        b.last_refusal_at
    from address_messages as m
    left join bounce_summary as b
        on b.recipient = m.recipient and b.portal_id is not distinct from m.portal_id
),

users as (
    -- The directory loader stores emails lower-cased and trimmed: the scope filters the column itself.
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
        and (scope is null or email in (select unnest(scope)))
),

final as (
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
        a.last_attempt_refused
    from addresses as a
    left join users as u on u.portal_id = a.portal_id and u.email = a.recipient and u.pick = 1
)

select * from final
