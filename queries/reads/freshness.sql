-- How current the data is: last refresh and newest event; for a file `lake marts` wrote, when and
-- from which lake export it was computed instead.
select
    (select max(finished_at) from _loads) as last_refresh,
    (select max(event_at) from fct_recipient_events) as newest_event,
    (select count(*) from fct_recipient_events) as events,
    (select count(*) from _quarantine) as quarantined,
    (select max(built_at) from _lake_marts) as marts_built_at,
    (select max_by(lake, built_at) from _lake_marts) as marts_lake,
    (select max_by(load_id, built_at) from _lake_marts) as marts_load_id
