-- Each refresh's judgement of every portal (the registered frames `current`: every portal and scope
-- now, `alerts`: the changes since the last judgement, and `judged`: the judgement's full rows), in the
-- commit's transaction: the changes are appended as alerts, and the current statuses and the full
-- judgement replace the last ones.
insert into _alerts by name
select load_id, now() as recorded_at, * exclude (load_id), cast(uuid() as varchar) as alert_id
from alerts;

delete from _portal_status;

insert into _portal_status by name
select * exclude (deciding_window) from current;

delete from _status_judged;

insert into _status_judged by name
select * from judged;
