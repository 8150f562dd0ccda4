-- The last refresh's judgement of every portal (queries/reads/portal_status.sql's rows, as
-- _status_judged keeps them), if it was made at $as_of under the policy windows $windows_key and no
-- commit came after it; otherwise no rows.
select * exclude (as_of, windows_key, load_id)
from _status_judged
where as_of = $as_of::timestamptz
    and windows_key = $windows_key
    and load_id = (select max(load_id) from _loads)
order by scope, portal_id
