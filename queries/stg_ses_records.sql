-- grain: one row per SES record (event publishing or notification) in raw_ses_records.
-- Pulls the fields every later layer needs out of the JSON payload and names what is wrong with
-- a record (`defect`), so the loader can quarantine it instead of guessing.
with source as (
    select * from raw_ses_records
),

typed as (
    select
        load_id,
        source,
        object_key,
        record_index,
        envelope,
        payload,
        coalesce(payload ->> 'eventType', payload ->> 'notificationType') as event_type,
        payload ->> '$.mail.messageId' as message_id,
        payload ->> '$.mail.timestamp' as sent_at_text,
        payload -> '$.mail.tags' as tags,
        payload -> '$.mail.headers' as headers,
        payload -> '$.bounce' as bounce,
        payload -> '$.complaint' as complaint
    from source
),

with_event_fields as (
    select
        *,
        case event_type
            when 'Bounce' then payload ->> '$.bounce.timestamp'
            when 'Complaint' then payload ->> '$.complaint.timestamp'
            when 'Delivery' then payload ->> '$.delivery.timestamp'
            when 'DeliveryDelay' then payload ->> '$.deliveryDelay.timestamp'
            when 'Open' then payload ->> '$.open.timestamp'
            when 'Click' then payload ->> '$.click.timestamp'
            when 'Subscription' then payload ->> '$.subscription.timestamp'
        end as event_at_text,
        case event_type
            when 'Bounce' then payload -> '$.bounce.bouncedRecipients'
            when 'Complaint' then payload -> '$.complaint.complainedRecipients'
            when 'Delivery' then payload -> '$.delivery.recipients'
            when 'DeliveryDelay' then payload -> '$.deliveryDelay.delayedRecipients'
            else payload -> '$.mail.destination'
        end as recipients
    from typed
),

parsed as (
    select
        *,
        -- SES writes "2017-08-05T00:41:02.669Z" but also "2018-10-08T14:05:45 +0000".
        try_cast(
            regexp_replace(sent_at_text, '\s*([+-]\d{2}):?(\d{2})$', '\1:\2') as timestamptz
        ) as sent_at,
        try_cast(
            regexp_replace(event_at_text, '\s*([+-]\d{2}):?(\d{2})$', '\1:\2') as timestamptz
        ) as event_at_parsed
    from with_event_fields
),

final as (
    select
        load_id,
        source,
        object_key,
        record_index,
        case when envelope = 'event' then 'ses_event' else 'ses_notification' end as source_kind,
        event_type,
        message_id,
        sent_at,
        coalesce(event_at_parsed, sent_at) as event_at,
        tags,
        headers,
        bounce ->> 'bounceType' as bounce_type,
        bounce ->> 'bounceSubType' as bounce_subtype,
        coalesce(
            bounce ->> 'reportingMTA',
            payload ->> '$.delivery.reportingMTA',
            payload ->> '$.deliveryDelay.reportingMTA'
        ) as reporting_mta,
        coalesce(bounce ->> 'feedbackId', complaint ->> 'feedbackId') as feedback_id,
        complaint ->> 'complaintFeedbackType' as complaint_type,
        complaint ->> 'complaintSubType' as complaint_subtype,
        payload ->> '$.deliveryDelay.delayType' as delay_type,
        payload ->> '$.delivery.smtpResponse' as smtp_response,
        coalesce(payload ->> '$.reject.reason', payload ->> '$.failure.errorMessage') as event_detail,
        recipients,
        case
            when event_type not in (
                'Send', 'Delivery', 'Bounce', 'Complaint', 'Reject', 'DeliveryDelay',
                'Open', 'Click', 'Rendering Failure', 'Subscription'
            ) then 'unknown event type: ' || left(event_type, 80)
            when message_id is null or message_id = '' then 'record has no mail.messageId'
            when sent_at is null
                then 'mail.timestamp missing or unreadable: ' || coalesce(left(sent_at_text, 80), 'null')
            when json_type(recipients) is distinct from 'ARRAY' or json_array_length(recipients) = 0
                then 'record names no recipients'
        end as defect
    from parsed
)

select * from final
