-- Staging: JSON read from new objects (the `staged_json` view of this batch) -> SES records (SNS
-- envelopes unwrapped), each with the reason to quarantine it if it has one. Runs in the private
-- staging database, never in the live one. Each document is parsed once here (the envelope keys),
-- and an SNS Message once more.
insert into staged_records
with shaped as (
    select
        *,
        from_json(j, '{"Type": "VARCHAR", "Message": "VARCHAR", "eventType": "VARCHAR",
                       "notificationType": "VARCHAR"}') as h
    from staged_json
),

enveloped as (
    select
        *,
        case
            when h."Type" is not null and h.Message is not null then 'sns'
            when h.eventType is not null then 'event'
            when h.notificationType is not null then 'notification'
        end as envelope
    from shaped
),

unwrapped as (
    select
        *,
        case
            when envelope = 'sns' and json_valid(h.Message) then h.Message::json
            when envelope in ('event', 'notification') then j
        end as payload
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
    payload,
    case
        when envelope is null and json_type(j) <> 'OBJECT'
            then 'record is a JSON ' || lower(json_type(j)) || ', not an object'
        when envelope is null then 'unknown record shape: no eventType, notificationType or SNS Message'
        when envelope = 'sns' and h."Type" <> 'Notification'
            then 'SNS ' || left(h."Type", 60) || ' message, not an SES notification'
        when payload is null then 'SNS Message is not JSON'
        when envelope = 'sns' and (
            json_type(payload) <> 'OBJECT'
            or coalesce(payload ->> 'eventType', payload ->> 'notificationType') is null
        ) then 'SNS Message holds no SES record'
    end as problem,
    case when envelope is null or envelope = 'sns' then left(j::varchar, 200) end as excerpt
from unwrapped;
