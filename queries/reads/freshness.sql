-- How current the data is: last refresh and newest event.
select
    (select max(finished_at) from _loads) as last_refresh,
    (select max(event_at) from fct_recipient_events) as newest_event,
    (select count(*) from fct_recipient_events) as events,
    (select count(*) from _quarantine) as quarantined
