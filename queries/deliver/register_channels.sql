-- The configured channels (the registered frame `channels`: channel, kind) the database has not
-- seen yet deliver what is recorded from now on, not the history: the alerts of load $since_load_id
-- on (the refresh passes the load it just committed), else of the next load.
insert into _alert_channels
select
    c.channel,
    c.kind,
    coalesce(cast($since_load_id as bigint), (select max(load_id) from _loads) + 1, 1) as since_load_id,
    now() as added_at
from channels as c
where c.channel not in (select channel from _alert_channels);
