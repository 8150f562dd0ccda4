-- The default as-of time: the newest event loaded.
select max(event_at) as as_of from fct_recipient_events
