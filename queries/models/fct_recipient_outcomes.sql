-- grain: one row per (message, recipient) that SES sent, rejected or reported on: the unit every
-- rate counts. SES's rules: a hard bounce is a Permanent bounce except OnAccountSuppressionList
-- (SES never tried it); the global list's Suppressed counts. A hard bounce from a bounce log
-- counts too (SES never reported it, or it would have replaced the log's). Rates are attributed
-- to the time of sending; mail to SES's mailbox simulator is marked so every rate can leave it out.
-- Per message and recipient it also keeps what the address facts need from the events (first and last
-- event, last delivery, first/last/latest bounce, refusals), so they never read the events again.
-- scope: null for every message, or struct(keys varchar[], first_sent date, last_sent date): the
-- messages whose key (coalesce(message_id, event_key)) is in keys. When first_sent is set, the caller
-- vouches that the messages' SES events were all sent between first_sent and last_sent: SES stamps
-- every event of a message with its send time, so only those days' rows (and bounce-mail rows, whose
-- dates come from the mail) are read, instead of every row's key.
-- materialised: incremental table (scope struct(keys varchar[], first_sent date, last_sent date)), ordered by sent_date
with events as (
    select
        *,
        coalesce(message_id, event_key) as message_key
    from fct_recipient_events
    where scope is null
    union all
    select
        *,
        coalesce(message_id, event_key) as message_key
    from fct_recipient_events
    where coalesce(message_id, event_key) in (select unnest(struct_extract(scope, 'keys')))
        and (
            struct_extract(scope, 'first_sent') is null
            or sent_date between struct_extract(scope, 'first_sent') and struct_extract(scope, 'last_sent')
        )
    union all
    select
        *,
        coalesce(message_id, event_key) as message_key
    from fct_recipient_events
    where struct_extract(scope, 'first_sent') is not null
        and source_kind = 'log'
        and not coalesce(
            sent_date between struct_extract(scope, 'first_sent') and struct_extract(scope, 'last_sent'), false
        )
        and coalesce(message_id, event_key) in (select unnest(struct_extract(scope, 'keys')))
),

marked as (
    select
        *,
        coalesce(event_at, sent_at) as seen_at,
        coalesce(bounce_subtype, '') = 'OnAccountSuppressionList' as not_attempted,
        -- A refusal of the content or the sender, not a dead address.
        coalesce(
            reason in ('contenterror', 'policyviolation', 'spamdetected', 'blocked', 'filtered',
                       'securityerror', 'virusdetected')
            or bounce_subtype in ('ContentRejected', 'AttachmentRejected'),
            false
        ) as is_refusal
    from events
),

flags as (
    select
        message_key,
        recipient,
        any_value(message_id) as message_id,
        min(sent_at) as sent_at,
        any_value(portal_id) as portal_id,
        any_value(upload_batch_id) as upload_batch_id,
        any_value(message_type) as message_type,
        any_value(recipient_domain) as recipient_domain,
        any_value(recipient_key) as recipient_key,
        bool_or(event_type = 'Send') as has_send,
        bool_or(event_type = 'Delivery') as delivered,
        bool_or(event_type = 'Reject') as rejected,
        bool_or(event_type = 'DeliveryDelay') as delayed,
        bool_or(event_type = 'Complaint') as complained,
        bool_or(event_type = 'Open') as opened,
        bool_or(event_type = 'Click') as clicked,
        bool_or(
            event_type = 'Bounce' and (
                (source_kind <> 'log' and bounce_type = 'Permanent'
                    and coalesce(bounce_subtype, '') <> 'OnAccountSuppressionList')
                or (source_kind = 'log' and bounce_class = 'hard')
            )
        ) as hard_bounced,
        bool_or(
            event_type = 'Bounce' and (
                (source_kind <> 'log' and bounce_type in ('Transient', 'Undetermined'))
                or (source_kind = 'log' and bounce_class = 'soft')
            )
        ) as soft_bounced,
        bool_or(
            event_type = 'Bounce' and bounce_subtype in ('Suppressed', 'OnAccountSuppressionList')
        ) as suppressed,
        bool_or(event_type = 'Bounce' and bounce_subtype = 'OnAccountSuppressionList')
            as on_account_suppressed,
        bool_or(event_type = 'Bounce' and bounce_class = 'hard') as address_hard,
        -- The filter is arg_max's own rule (it skips a null reason), said for engines that do not skip it.
        arg_max(reason, case when event_type = 'Bounce' then event_at end) filter (where reason is not null)
            as bounce_reason,
        max(case when event_type = 'Bounce' then event_at end) as bounced_at,
        min(seen_at) as first_event_at,
        max(seen_at) as last_event_at,
        max(event_at) filter (where event_type = 'Delivery') as last_delivery_at,
        min(seen_at) filter (where event_type = 'Bounce') as first_bounce_at,
        max(seen_at) filter (where event_type = 'Bounce') as last_bounce_at,
        coalesce(bool_or(is_refusal) filter (where event_type = 'Bounce'), false) as refused,
        min(seen_at) filter (where event_type = 'Bounce' and is_refusal) as first_refusal_at,
        max(seen_at) filter (where event_type = 'Bounce' and is_refusal) as last_refusal_at
    from marked
    group by message_key, recipient
),

-- The message's latest bounce, and latest bounce SES attempted, in the order the address facts
-- pick an address's latest from: the latest of the messages' latest is the address's. Apart from
-- the flags, so the ordered aggregates sort only the bounce rows.
bounce_picks as (
    select
        message_key,
        recipient,
        first(
            {'bounce_at': seen_at, 'reason': reason, 'diagnostic': diagnostic, 'bounce_type': bounce_type,
             'bounce_subtype': bounce_subtype, 'bounce_class': bounce_class}
            order by seen_at desc, reason, diagnostic
        ) as latest_bounce,
        first(
            {'bounce_at': seen_at, 'reason': reason, 'diagnostic': diagnostic, 'not_attempted': not_attempted,
             'refused': is_refusal}
            order by not_attempted, seen_at desc, reason, diagnostic
        ) as latest_attempted_bounce
    from marked
    where event_type = 'Bounce'
    group by message_key, recipient
),

final as (
    select
        message_key,
        message_id,
        recipient,
        recipient_key,
        recipient_domain,
        portal_id,
        upload_batch_id,
        message_type,
        sent_at,
        cast(sent_at as date) as sent_date,
        is_ses_simulator(recipient_domain) as is_simulator,
        -- Sent: SES accepted it (a Send, or any outcome of sending). Not sent: a Reject, or an
        -- address on the account's suppression list (SES never tried it and leaves it out of its rates).
        (has_send or delivered or hard_bounced or soft_bounced or complained or delayed or suppressed)
            and not (rejected and not (delivered or hard_bounced or soft_bounced))
            and not (on_account_suppressed and not (delivered or hard_bounced or soft_bounced)) as sent,
        delivered,
        hard_bounced,
        soft_bounced and not hard_bounced as soft_bounced,
        complained,
        rejected,
        delayed,
        suppressed,
        opened,
        clicked,
        address_hard,
        bounce_reason,
        bounced_at,
        first_event_at,
        last_event_at,
        last_delivery_at,
        first_bounce_at,
        last_bounce_at,
        b.latest_bounce,
        b.latest_attempted_bounce,
        refused,
        first_refusal_at,
        last_refusal_at
    from flags
    left join bounce_picks as b using (message_key, recipient)
)

select * from final
