-- Keep fct_recipient_outcomes equal to the int_recipient_outcomes view: recompute the (message,
-- recipient) rows of every message this load touched, or all of them when $everything.
delete from fct_recipient_outcomes
where $everything
    or message_key in (select coalesce(message_id, event_key) from stg.staged_facts);

insert into fct_recipient_outcomes by name
select * from int_recipient_outcomes
where $everything
    or message_key in (select coalesce(message_id, event_key) from stg.staged_facts);
