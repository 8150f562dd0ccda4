-- Per object of the load: records loaded, records quarantined and control messages skipped (the
-- manifest's counts).
select source, object_key, sum(loaded) as loaded, sum(bad) as bad, sum(skipped) as skipped
from (
    select source, object_key, count(*) as loaded, 0 as bad, 0 as skipped
    from raw_ses_records
    group by all
    union all
    select source, object_key, count(distinct record_index), 0, 0
    from staged_log_bounces
    group by all
    union all
    select source, object_key, 0, count(*), 0
    from _quarantine
    group by all
    union all
    select source, object_key, 0, 0, count(*)
    from staged_records
    where skipped is not null
    group by all
)
group by all
