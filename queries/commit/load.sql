-- Commit: copy one staged load into the live database. Runs inside the refresh's single
-- transaction, with the staging database attached as `stg`. Everything here touches only the
-- new rows and the days they were sent ($lo..$hi), so its cost follows the new data.
insert into raw_objects select * from stg.raw_objects;

-- Rows from before the address key existed get theirs (once: afterwards the column's statistics say
-- it holds no null, and DuckDB skips every row group).
update fct_recipient_events set recipient_key = address_key(recipient) where recipient_key is null;

insert into _quarantine select * from stg._quarantine;

-- SES reports a bounce that a log delivered first: keep SES's (its type decides the SES rate). The
-- messages whose log rows go, and the rows' send days, are noted first: both may lie on the mail's own
-- date, outside this load's send dates (queries/commit/refresh_aggregates.sql recomputes them).
set variable replaced_log = (
    select {
        'messages': coalesce(list(distinct coalesce(f.message_id, f.event_key)), []::varchar[]),
        'days': coalesce(list(distinct f.sent_date), []::date[])
    }
    from fct_recipient_events as f
    where f.source_kind = 'log'
        and exists (
            select 1 from stg.staged_facts as s
            where s.event_type = 'Bounce' and s.source_kind <> 'log'
                and s.message_id = f.message_id and s.recipient = f.recipient
        )
);

delete from fct_recipient_events as f
where f.source_kind = 'log'
    and exists (
        select 1 from stg.staged_facts as s
        where s.event_type = 'Bounce' and s.source_kind <> 'log'
            and s.message_id = f.message_id and s.recipient = f.recipient
    );

-- A bounce mail is dated by the message's own Date header, which can fall on the UTC day either side
-- of SES's send time: a load's messages are looked for among the loaded events of these days.
set variable message_days = {'first': cast($lo as date) - 1, 'last': cast($hi as date) + 1};

-- Scopes as constants (a variable is one at planning), so each filters inside the table scan.
set variable unattributed_recipients = (
    select coalesce(list(distinct recipient), []::varchar[]) from stg.staged_facts where portal_id is null
);

insert into fct_recipient_events by name
with new_facts as (
    select * from stg.staged_facts
),

known as (
    select event_key from fct_recipient_events
    -- A repeated event has the same mail.timestamp, hence the same sent_date.
    where sent_date between $lo and $hi
),

fresh as (
    select * from new_facts as n
    where event_key not in (select event_key from known)
),

-- SES notifications carry no tags: their message's Send event (new or loaded, within message_days)
-- knows the portal.
sends as (
    select message_id, portal_id, upload_batch_id, message_type
    from stg.staged_facts
    where event_type = 'Send' and portal_id is not null
    union all
    select message_id, portal_id, upload_batch_id, message_type
    from fct_recipient_events
    where event_type = 'Send' and portal_id is not null
        and sent_date between getvariable('message_days').first and getvariable('message_days').last
),

send_attribution as (
    select message_id, any_value(portal_id) as portal_id, any_value(upload_batch_id) as upload_batch_id,
        any_value(message_type) as message_type
    from sends
    group by message_id
),

-- Last resort: the learner directory, when the address belongs to exactly one portal (looked up
-- only for the addresses this load left without a portal).
directory as (
    select * from stg_directory_addresses_for(getvariable('unattributed_recipients'))
)

select
    f.event_key,
    f.load_id,
    f.source_kind,
    f.message_id,
    f.event_type,
    f.event_at,
    f.sent_at,
    f.sent_date,
    f.recipient,
    address_key(f.recipient) as recipient_key,
    f.recipient_domain,
    f.bounce_type,
    f.bounce_subtype,
    f.bounce_action,
    f.status_code,
    f.diagnostic,
    f.reporting_mta,
    f.feedback_id,
    f.complaint_type,
    f.complaint_subtype,
    f.delay_type,
    f.bounce_class,
    f.reason,
    coalesce(f.portal_id, s.portal_id, d.portal_id) as portal_id,
    coalesce(f.upload_batch_id, s.upload_batch_id, case when f.portal_id is null and s.portal_id is null then d.upload_batch_id end)
        as upload_batch_id,
    coalesce(f.message_type, s.message_type) as message_type,
    case
        when f.portal_id is not null then f.attribution
        when s.portal_id is not null then 'send'
        when d.portal_id is not null then 'directory'
    end as attribution
from fresh as f
left join send_attribution as s on f.portal_id is null and s.message_id = f.message_id
left join directory as d on f.portal_id is null and d.recipient = f.recipient;

-- A Send that arrives after its bounce: give the earlier, unattributed events their portal now (within
-- message_days). They are picked first, with their send days: those days of the send-day tables
-- change too (queries/commit/refresh_aggregates.sql).
create or replace temp table load_sends as
select message_id, any_value(portal_id) as portal_id, any_value(upload_batch_id) as upload_batch_id,
    any_value(message_type) as message_type
from stg.staged_facts
where event_type = 'Send' and portal_id is not null
group by message_id;

set variable reattributed = (
    select {
        'keys': coalesce(list(f.event_key), []::varchar[]),
        'days': coalesce(list(distinct f.sent_date), []::date[])
    }
    from fct_recipient_events as f
    where f.message_id in (select message_id from load_sends)
        and (f.attribution is null or f.attribution = 'directory')
        and f.sent_date between getvariable('message_days').first and getvariable('message_days').last
);

update fct_recipient_events as f
set
    portal_id = s.portal_id,
    upload_batch_id = coalesce(f.upload_batch_id, s.upload_batch_id),
    message_type = coalesce(f.message_type, s.message_type),
    attribution = 'send'
from load_sends as s
where f.message_id = s.message_id
    -- the days' range again only so the scan prunes row groups by it
    and f.sent_date between getvariable('message_days').first and getvariable('message_days').last
    and f.event_key in (select unnest(getvariable('reattributed').keys));

drop table load_sends;

-- A bounce from a log that SES reported too (before or in this load) counts once, as SES's. Only
-- this load's log rows are checked, against the SES bounces of their own messages.
delete from fct_recipient_events as f
where f.load_id = $load_id and f.source_kind = 'log'
    and exists (
        select 1 from fct_recipient_events as s
        where s.message_id in (select message_id from stg.staged_facts where source_kind = 'log')
            and s.event_type = 'Bounce' and s.source_kind <> 'log'
            and s.message_id = f.message_id and s.recipient = f.recipient
    );
