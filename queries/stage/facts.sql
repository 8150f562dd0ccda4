-- Staging: the load's recipient-level facts, each event once, each bounce classified; then the
-- bounces read from bounce mails and CSV logs (source = log), unless SES reported the same one.
create table staged_facts as
select
    e.* exclude (source, object_key, record_index, verdict_key),
    case when e.event_type = 'Bounce' then v.bounce_class end as bounce_class,
    v.reason,
    count(*) over (partition by e.event_key) as copies
from int_ses_recipient_events as e
left join staged_verdicts as v on v.verdict_key = e.verdict_key
-- SES delivers at least once: the same event twice in this load counts once.
qualify row_number() over (partition by e.event_key order by e.object_key, e.record_index) = 1;

insert into staged_facts by name
with logs as (
    select
        *,
        coalesce(sent_at, event_at) as attributed_at
    from staged_log_bounces
    where coalesce(sent_at, event_at) is not null
),

keyed as (
    select
        md5(concat_ws('|', 'Bounce', coalesce(message_id, ''), recipient,
            case when message_id is null then strftime(event_at, '%Y-%m-%dT%H:%M:%S') end, 'log'))
            as event_key,
        *
    from logs
)

select
    event_key,
    $load_id as load_id,
    'log' as source_kind,
    message_id,
    'Bounce' as event_type,
    coalesce(event_at, attributed_at) as event_at,
    attributed_at as sent_at,
    cast(attributed_at as date) as sent_date,
    recipient,
    address_domain(recipient) as recipient_domain,
    action as bounce_action,
    status_code,
    diagnostic,
    reporting_mta,
    bounce_class,
    reason,
    portal_id,
    upload_batch_id,
    message_type,
    attribution,
    count(*) over (partition by event_key) as copies
from keyed as k
-- The same bounce from SES in this load wins: SES's record is the one its rate counts.
where not exists (
    select 1 from staged_facts as s
    where s.event_type = 'Bounce' and s.message_id = k.message_id and s.recipient = k.recipient
)
qualify row_number() over (partition by event_key order by object_key, record_index) = 1;
