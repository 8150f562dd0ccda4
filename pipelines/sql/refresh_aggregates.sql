-- Keep the materialised views equal to their definitions after a commit: recompute the rows of
-- what this load touched, or all of them when $everything (a directory reload can re-attribute any
-- message; an empty table is one from before the table existed). The scope goes into the table
-- macro so only the touched events are read.

-- fct_recipient_outcomes: the (message, recipient) rows of every message the load touched.
delete from fct_recipient_outcomes
where $everything
    or message_key in (select coalesce(message_id, event_key) from stg.staged_facts);

insert into fct_recipient_outcomes by name
select * from int_recipient_outcomes_for(
    case when not $everything then (select list(distinct coalesce(message_id, event_key)) from stg.staged_facts) end
);

-- fct_address_facts: every portal's row of every address the load touched (a re-attributed
-- message moves its address between portals, and both rows change).
delete from fct_address_facts
where $everything
    or recipient in (select recipient from stg.staged_facts);

insert into fct_address_facts by name
select * from int_address_facts_for(
    case when not $everything then (select list(distinct recipient) from stg.staged_facts) end
);
