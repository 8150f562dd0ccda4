-- Staging: JSON read from new objects (the `staged_json` view of this batch) -> SES records (SNS
-- envelopes unwrapped), each parsed once into the `ses_record` struct the staging models in
-- queries/stage/ read, with the reason to quarantine it if it has one. Runs in the private
-- staging database, never in the live one. An SNS Message is parsed once more.
insert into staged_records
with parsed as (
    select
        *,
        ses_record(j) as outer_record
    from staged_json
),

enveloped as (
    select
        *,
        case
            when outer_record."Type" is not null and outer_record.Message is not null then 'sns'
            when outer_record.eventType is not null then 'event'
            when outer_record.notificationType is not null then 'notification'
        end as envelope,
        -- null when the Message is not JSON
        try_cast(outer_record.Message as json) as message_json
    from parsed
),

unwrapped as (
    select
        *,
        case
            when envelope = 'sns' then ses_record(message_json)
            else outer_record
        end as r
    from enveloped
),

-- SNS control messages are read and counted, never quarantined: SNS's subscription and
-- unsubscription confirmations (envelope Type), SES's test message when an event destination's
-- topic is validated, and SES's notice that a feedback topic was subscribed. Only with the
-- envelope's own fields (MessageId, TopicArn, and SubscribeURL or Token for a confirmation): a bare
-- {"Type": "SubscriptionConfirmation"} is junk, not SNS, and stays quarantined.
controls as (
    select
        *,
        case
            when envelope is distinct from 'sns' or outer_record.MessageId is null
                or outer_record.TopicArn is null
                then case when r.notificationType = 'AmazonSnsSubscriptionSucceeded'
                    and r.eventType is null then 'SES feedback topic subscribed' end
            when outer_record."Type" in ('SubscriptionConfirmation', 'UnsubscribeConfirmation')
                and coalesce(outer_record.SubscribeURL, outer_record.Token) is not null
                then 'SNS ' || outer_record."Type"
            when outer_record."Type" = 'Notification' and message_json is null
                and trim(outer_record.Message) like 'Successfully validated SNS topic for Amazon SES%'
                then 'SES topic validation test'
            when outer_record."Type" = 'Notification'
                and r.notificationType = 'AmazonSnsSubscriptionSucceeded' and r.eventType is null
                then 'SES feedback topic subscribed'
        end as skipped
    from unwrapped
)

select
    $load_id,
    source,
    object_key,
    record_index,
    byte_offset,
    received_date,
    envelope,
    r,
    case
        when skipped is not null then null
        when envelope is null and json_type(j) <> 'OBJECT'
            then 'record is a JSON ' || lower(json_type(j)) || ', not an object'
        when envelope is null then 'unknown record shape: no eventType, notificationType or SNS Message'
        when envelope = 'sns' and outer_record."Type" <> 'Notification'
            then 'SNS ' || left(outer_record."Type", 60) || ' message, not an SES notification'
        when envelope = 'sns' and message_json is null then 'SNS Message is not JSON'
        when envelope = 'sns' and (
            json_type(message_json) <> 'OBJECT'
            or coalesce(r.eventType, r.notificationType) is null
        ) then 'SNS Message holds no SES record'
    end as problem,
    -- What a quarantined record shows: the SES record's own text, or the envelope's when that is
    -- what is wrong.
    left(case when problem is null and envelope = 'sns' then outer_record.Message else j::varchar end, 200)
        as excerpt,
    skipped
from controls;
