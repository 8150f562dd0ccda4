-- Staging: JSON texts read from new objects -> SES records (SNS envelopes unwrapped) or a reason
-- to quarantine them. Runs in the private staging database, never in the live one.
create table staged_records as
with parsed as (
    select
        source,
        object_key,
        record_index,
        byte_offset,
        received_date,
        case when json_valid(text) then text::json end as j,
        text
    from staged_json
),

shaped as (
    select
        *,
        case
            when json_type(j) is distinct from 'OBJECT' then null
            when j ->> 'Type' is not null and j ->> 'Message' is not null then 'sns'
            when j ->> 'eventType' is not null then 'event'
            when j ->> 'notificationType' is not null then 'notification'
        end as envelope
    from parsed
),

unwrapped as (
    select
        *,
        case
            when envelope = 'sns' and json_valid(j ->> 'Message') then (j ->> 'Message')::json
            when envelope in ('event', 'notification') then j
        end as payload
    from shaped
)

select
    source,
    object_key,
    record_index,
    byte_offset,
    received_date,
    envelope,
    payload,
    case
        when j is null then 'JSON refused by the parser'
        when json_type(j) <> 'OBJECT' then 'record is a JSON ' || lower(json_type(j)) || ', not an object'
        when envelope is null then 'unknown record shape: no eventType, notificationType or SNS Message'
        when envelope = 'sns' and j ->> 'Type' <> 'Notification'
            then 'SNS ' || left(j ->> 'Type', 60) || ' message, not an SES notification'
        when payload is null then 'SNS Message is not JSON'
        when json_type(payload) <> 'OBJECT'
            or coalesce(payload ->> 'eventType', payload ->> 'notificationType') is null
            then 'SNS Message holds no SES record'
    end as problem,
    left(text, 200) as excerpt
from unwrapped;

insert into raw_ses_records
select $load_id, source, object_key, record_index, envelope, received_date, payload
from staged_records
where problem is null;

insert into _quarantine
select $load_id, source, object_key, record_index, byte_offset, problem, excerpt
from staged_records
where problem is not null;
