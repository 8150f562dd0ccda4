-- Keep the incremental tables (the models of queries/models/ materialised as one) equal to their
-- definitions after a commit: recompute the rows of what this load touched. (A directory reload,
-- which can re-attribute any message, or a changed definition rebuilds them whole instead:
-- `catalog.rebuild_table`.) The scopes are set as variables, constants when the statements are
-- planned, so the table macros filter inside their scans.
set variable touched_messages = (
    select coalesce(list(distinct coalesce(message_id, event_key)), []::varchar[]) from stg.staged_facts
);

-- SES stamps every event of a message with its send time, so when the load holds only SES facts the
-- touched messages' SES events all lie within the load's send dates. A bounce mail's date is the
-- mail's own: a load holding one is not narrowed.
set variable touched_sent_dates = (
    select case when bool_and(source_kind <> 'log' and sent_date is not null)
        then {'first_sent': min(sent_date), 'last_sent': max(sent_date)} end
    from stg.staged_facts
);

set variable touched_scope = {
    'keys': getvariable('touched_messages'),
    'first_sent': getvariable('touched_sent_dates').first_sent,
    'last_sent': getvariable('touched_sent_dates').last_sent
};

-- Touched messages that have bounce-mail facts, or had them until this load replaced them with SES's
-- (queries/commit/load.sql): their outcome may be dated by the mail.
set variable touched_mail_messages = list_distinct(list_concat((
    select coalesce(list(distinct coalesce(message_id, event_key)), []::varchar[])
    from fct_recipient_events
    where source_kind = 'log'
        and coalesce(message_id, event_key) in (select unnest(getvariable('touched_messages')))
), coalesce(getvariable('replaced_log').messages, []::varchar[])));

-- A re-attributed message moves its address between portals: every portal's row of it changes.
set variable touched_recipients = (
    select coalesce(list(distinct recipient), []::varchar[]) from stg.staged_facts
);

-- The outcome rows of the touched messages, as the two deletes below pick them: read before the
-- deletes (the rows replaced) and after the insert (their replacements) for the send days they change.
create or replace temp view touched_outcomes as
select sent_date
from fct_recipient_outcomes
where message_key in (select unnest(getvariable('touched_messages')))
    and (
        getvariable('touched_scope').first_sent is null
        or sent_date between getvariable('touched_scope').first_sent and getvariable('touched_scope').last_sent
    )
union all
select sent_date
from fct_recipient_outcomes
where message_key in (select unnest(getvariable('touched_mail_messages')));

set variable touched_days_before = (
    select coalesce(list(distinct sent_date) filter (where sent_date is not null), []::date[])
    from touched_outcomes
);

-- fct_recipient_outcomes: the (message, recipient) rows of every message the load touched.
delete from fct_recipient_outcomes
where message_key in (select unnest(getvariable('touched_messages')))
    and (
        getvariable('touched_scope').first_sent is null
        or sent_date between getvariable('touched_scope').first_sent and getvariable('touched_scope').last_sent
    );

delete from fct_recipient_outcomes
where message_key in (select unnest(getvariable('touched_mail_messages')));

-- In send-date order: every rate reads a window of send dates, and a table written in that order
-- lets the scan skip the row groups outside it (a full rebuild would otherwise scatter the dates).
insert into fct_recipient_outcomes by name
select * from fct_recipient_outcomes_for(getvariable('touched_scope'))
order by sent_date;

-- The send-day tables (queries/models/mart_*_days.sql, mart_hard_bounces.sql): the send days whose
-- outcomes changed, and those of the events added, replaced or given a portal (a bounce mail's row is
-- dated by the mail, its message's outcome by the message's first event).
set variable touched_days = list_distinct(flatten([
    getvariable('touched_days_before'),
    (
        select coalesce(list(distinct sent_date) filter (where sent_date is not null), []::date[])
        from touched_outcomes
    ),
    (select coalesce(list(distinct sent_date), []::date[]) from stg.staged_facts),
    coalesce(getvariable('replaced_log').days, []::date[]),
    coalesce(getvariable('reattributed').days, []::date[])
]));

drop view touched_outcomes;

-- (the recomputation itself: catalog.refresh_send_days; then the address facts of the touched
-- recipients, queries/commit/refresh_address_facts.sql)
