-- Keep the materialised views equal to their definitions after a commit: recompute the rows of
-- what this load touched, or all of them when $everything (a directory reload can re-attribute any
-- message; an empty table is one from before the table existed). The scopes are set as variables,
-- constants when the statements are planned, so the table macros filter inside their scans.
set variable touched_messages = case when not $everything then (
    select coalesce(list(distinct coalesce(message_id, event_key)), []::varchar[]) from stg.staged_facts
) end;

-- A re-attributed message moves its address between portals: every portal's row of it changes.
set variable touched_recipients = case when not $everything then (
    select coalesce(list(distinct recipient), []::varchar[]) from stg.staged_facts
) end;

-- fct_recipient_outcomes: the (message, recipient) rows of every message the load touched.
delete from fct_recipient_outcomes
where getvariable('touched_messages') is null
    or message_key in (select unnest(getvariable('touched_messages')));

insert into fct_recipient_outcomes by name
select * from int_recipient_outcomes_for(getvariable('touched_messages'));

-- fct_address_facts: every portal's row of every address the load touched.
delete from fct_address_facts
where getvariable('touched_recipients') is null
    or recipient in (select unnest(getvariable('touched_recipients')));

insert into fct_address_facts by name
select * from int_address_facts_for(getvariable('touched_recipients'));
