-- The send dates whose partitions the loads after $since changed, per partitioned lake table; derived
-- from the load ids the events carry, so the commit keeps no bookkeeping for the lake.
-- Events: the send dates of the events those loads added (a Send that re-attributes earlier events of
-- its message shares their send date). Outcomes: the same dates, and the date each touched message's
-- outcome now has (a bounce mail is dated by the mail; its message's outcome by the first send).
-- A row a load deleted (a bounce-mail row SES reported too) shows in the row counts instead.
with new_events as (
    select
        sent_date,
        coalesce(message_id, event_key) as message_key
    from fct_recipient_events
    where load_id > $since
)

select 'fct_recipient_events' as table_name, sent_date from new_events
union
select 'fct_recipient_outcomes' as table_name, sent_date from new_events
union
select 'fct_recipient_outcomes' as table_name, o.sent_date
from fct_recipient_outcomes as o
where o.message_key in (select message_key from new_events)
