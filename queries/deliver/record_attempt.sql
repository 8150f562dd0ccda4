-- One delivery attempt's outcome (the registered one-row frame `attempt`: alert_id, channel,
-- attempts, first_attempt_at, last_attempt_at, next_attempt_at, delivered_at, gave_up_at, skipped_at,
-- last_error) replaces the delivery's state, in one transaction.
delete from _alert_deliveries
where (alert_id, channel) in (select (alert_id, channel) from attempt);

insert into _alert_deliveries by name
select * from attempt;
