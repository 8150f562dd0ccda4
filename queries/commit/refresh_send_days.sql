-- The send-day tables (mart_portal_days, mart_portal_day_keys, mart_hard_bounces) for the send days
-- in the variable touched_days (set by refresh_aggregates.sql for a load, by forget/erased_days.sql
-- for an erasure): those days' rows recomputed from the outcomes. The days' range first: a constant
-- range the scans prune row groups by (the list alone is not).
delete from mart_portal_days
where sent_date between list_min(getvariable('touched_days')) and list_max(getvariable('touched_days'))
    and list_contains(getvariable('touched_days'), sent_date);

insert into mart_portal_days by name
select * from mart_portal_days_for(getvariable('touched_days'))
order by sent_date;

delete from mart_hard_bounces
where sent_date between list_min(getvariable('touched_days')) and list_max(getvariable('touched_days'))
    and list_contains(getvariable('touched_days'), sent_date);

-- By portal: the causes read one portal's hard bounces.
insert into mart_hard_bounces by name
select * from mart_hard_bounces_for(getvariable('touched_days'))
order by portal_id;

delete from mart_portal_day_keys
where sent_date between list_min(getvariable('touched_days')) and list_max(getvariable('touched_days'))
    and list_contains(getvariable('touched_days'), sent_date);

insert into mart_portal_day_keys by name
select * from mart_portal_day_keys_for(getvariable('touched_days'))
order by sent_date;
