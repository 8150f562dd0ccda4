-- Staging: the load's recipient-level facts, each event once.
create table staged_facts as
select
    * exclude (source, object_key, record_index),
    count(*) over (partition by event_key) as copies
from int_ses_recipient_events
-- SES delivers at least once: the same event twice in this load counts once.
qualify row_number() over (partition by event_key order by object_key, record_index) = 1;
