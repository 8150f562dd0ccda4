-- Each refresh's judgement of every portal (the registered frames `current`: every portal and scope
-- now, and `alerts`: the changes since the last judgement), in the commit's transaction: the changes
-- are appended as alerts, and the current statuses replace the last ones.
insert into _alerts
select load_id, now(), * exclude (load_id)
from alerts;

delete from _portal_status;

insert into _portal_status
select * from current;
