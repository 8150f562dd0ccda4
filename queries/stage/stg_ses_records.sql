-- grain: one row per SES record (event publishing or notification) in raw_ses_records.
-- Pulls the fields every later layer needs out of the JSON payload and names what is wrong with
-- a record (`defect`), so the loader can quarantine it instead of guessing. The record arrives
-- parsed (`r`, the `ses_record` struct of queries/ddl/staging_schema.sql).
-- Portal, upload batch and message type come from the message tags, else from a header (the
-- configured one, else X-SES-MESSAGE-TAGS); which tag and header is configuration, set by the
-- loader as session variables (portal_tag, portal_header, batch_tag, ...).
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
        coalesce(r.eventType, r.notificationType) as event_type,
        r.mail.messageId as message_id,
        r.mail.timestamp as sent_at_text,
        nullif(trim(r.mail.tags[getvariable('portal_tag')][1]), '') as tag_portal,
        nullif(trim(r.mail.tags[getvariable('batch_tag')][1]), '') as tag_batch,
        nullif(trim(r.mail.tags[getvariable('type_tag')][1]), '') as tag_type,
        r
    from source
),

headed as (
    select
        *,
        -- Headers are looked at only when a tag is missing (notifications carry no tags).
        case when tag_portal is null or tag_batch is null or tag_type is null then r.mail.headers end
            as header_list
    from typed
),

from_headers as (
    select
        *,
        list_filter(header_list, lambda h: lower(h.name) = 'x-ses-message-tags')[1].value as ses_tags,
        nullif(trim(list_filter(
            header_list, lambda h: lower(h.name) = lower(getvariable('portal_header'))
        )[1].value), '') as header_portal,
        nullif(trim(list_filter(
            header_list, lambda h: lower(h.name) = lower(getvariable('batch_header'))
        )[1].value), '') as header_batch,
        nullif(trim(list_filter(
            header_list, lambda h: lower(h.name) = lower(getvariable('type_header'))
        )[1].value), '') as header_type
    from headed
),

attributed as (
    select
        *,
        coalesce(tag_portal, header_portal, nullif(trim(regexp_extract(
            ses_tags, '(?:^|,)\s*' || getvariable('portal_tag') || '\s*=\s*([^,]*)', 1
        )), '')) as portal_id,
        coalesce(tag_batch, header_batch, nullif(trim(regexp_extract(
            ses_tags, '(?:^|,)\s*' || getvariable('batch_tag') || '\s*=\s*([^,]*)', 1
        )), '')) as upload_batch_id,
        coalesce(tag_type, header_type, nullif(trim(regexp_extract(
            ses_tags, '(?:^|,)\s*' || getvariable('type_tag') || '\s*=\s*([^,]*)', 1
        )), '')) as message_type
    from from_headers
),

with_event_fields as (
    select
        *,
        case event_type
            when 'Bounce' then r.bounce.timestamp
            when 'Complaint' then r.complaint.timestamp
            when 'Delivery' then r.delivery.timestamp
            when 'DeliveryDelay' then r.deliveryDelay.timestamp
            when 'Open' then r.open.timestamp
            when 'Click' then r.click.timestamp
            when 'Subscription' then r.subscription.timestamp
        end as event_at_text,
        case event_type
            when 'Bounce' then r.bounce.bouncedRecipients
            when 'Complaint' then r.complaint.complainedRecipients
            when 'Delivery' then ses_addresses(r.delivery.recipients)
            when 'DeliveryDelay' then r.deliveryDelay.delayedRecipients
            else ses_addresses(r.mail.destination)
        end as recipients
    from attributed
),

timed as (
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
        portal_id,
        upload_batch_id,
        message_type,
        case
            when portal_id is null then null
            when portal_id = tag_portal then 'tag'
            else 'header'
        end as attribution,
        r.bounce.bounceType as bounce_type,
        r.bounce.bounceSubType as bounce_subtype,
        coalesce(r.bounce.reportingMTA, r.delivery.reportingMTA, r.deliveryDelay.reportingMTA) as reporting_mta,
        coalesce(r.bounce.feedbackId, r.complaint.feedbackId) as feedback_id,
        r.complaint.complaintFeedbackType as complaint_type,
        r.complaint.complaintSubType as complaint_subtype,
        r.deliveryDelay.delayType as delay_type,
        r.delivery.smtpResponse as smtp_response,
        coalesce(r.reject.reason, r.failure.errorMessage) as event_detail,
        recipients,
        case
            when event_type not in (
                'Send', 'Delivery', 'Bounce', 'Complaint', 'Reject', 'DeliveryDelay',
                'Open', 'Click', 'Rendering Failure', 'Subscription'
            ) then 'unknown event type: ' || left(event_type, 80)
            when message_id is null or message_id = '' then 'record has no mail.messageId'
            when sent_at is null
                then 'mail.timestamp missing or unreadable: ' || coalesce(left(sent_at_text, 80), 'null')
            -- Not a list, an empty one, or one whose entries hold no address (strings where SES
            -- writes recipient objects).
            when coalesce(len(list_filter(recipients, lambda x: trim(x.emailAddress) <> '')), 0) = 0
                then 'record names no recipients'
        end as defect
    from timed
)

select * from final
