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
        as excerpt
from unwrapped;
