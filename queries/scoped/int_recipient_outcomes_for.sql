-- grain: one row per (message, recipient) that SES sent, rejected or reported on: the unit every
-- rate counts. SES's rules: a hard bounce is a Permanent bounce except OnAccountSuppressionList
-- (SES never tried it); the global list's Suppressed counts. A hard bounce from a bounce log
-- counts too (SES never reported it, or it would have replaced the log's). Rates are attributed
-- to the time of sending; mail to SES's mailbox simulator is marked so every rate can leave it out.
-- scope: a list of message keys (coalesce(message_id, event_key)) to compute, or null for all.
with events as (
    select
        *,
        coalesce(message_id, event_key) as message_key
    from fct_recipient_events
    -- The scope filters the scan itself, so refreshing a few messages reads only their events.
    where scope is null or coalesce(message_id, event_key) in (select unnest(scope))
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
        arg_max(reason, case when event_type = 'Bounce' then event_at end) as bounce_reason,
        max(case when event_type = 'Bounce' then event_at end) as bounced_at
    from events
    group by message_key, recipient
),

final as (
    select
        message_key,
        message_id,
        recipient,
        recipient_domain,
        portal_id,
        upload_batch_id,
        message_type,
        sent_at,
        cast(sent_at as date) as sent_date,
        coalesce(recipient_domain = 'simulator.amazonses.com', false) as is_simulator,
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
        bounced_at
    from flags
)

select * from final
