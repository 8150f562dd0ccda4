-- grain: one row per (SES record, recipient named in it); only records without a defect.
-- Each recipient of a Bounce or DeliveryDelay has its own action/status/diagnostic, so they are
-- read per recipient, never per record.
with records as (
    select * from stg_ses_records
    where defect is null
),

recipients as (
    select
        records.* exclude (recipients),
        unnest(recipients) as rcpt
    from records
),

normalised as (
    select
        *,
        -- "Name <a@b.example>" keeps only the address; lower-cased as mailbox providers treat it.
        lower(trim(case
            when contains(rcpt.emailAddress, '<')
                then coalesce(nullif(regexp_extract(rcpt.emailAddress, '<([^<>]+)>\s*$', 1), ''),
                    rcpt.emailAddress)
            else rcpt.emailAddress
        end)) as recipient
    from recipients
),

final as (
    select
        md5(concat_ws(
            '|', event_type, message_id, recipient,
            coalesce(feedback_id, strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f'), '')
        )) as event_key,
        load_id,
        source,
        object_key,
        record_index,
        source_kind,
        message_id,
        event_type,
        event_at,
        sent_at,
        cast(sent_at as date) as sent_date,
        recipient,
        address_domain(recipient) as recipient_domain,
        bounce_type,
        bounce_subtype,
        case when event_type in ('Bounce', 'DeliveryDelay') then rcpt.action end
            as bounce_action,
        case when event_type in ('Bounce', 'DeliveryDelay') then rcpt.status end
            as status_code,
        case
            when event_type in ('Bounce', 'DeliveryDelay') then rcpt.diagnosticCode
            else event_detail
        end as diagnostic,
        reporting_mta,
        feedback_id,
        complaint_type,
        complaint_subtype,
        delay_type,
        -- One classification per distinct bounce signal (pipelines/classify.py runs on these).
        case when event_type in ('Bounce', 'DeliveryDelay') then md5(concat_ws('|',
            coalesce(bounce_type, '-'), coalesce(bounce_subtype, '-'),
            coalesce(rcpt.action, '-'), coalesce(rcpt.status, '-'), coalesce(rcpt.diagnosticCode, '-')
        )) end as verdict_key,
        portal_id,
        upload_batch_id,
        message_type,
        attribution
    from normalised
    where recipient is not null and recipient <> ''
)

select * from final
