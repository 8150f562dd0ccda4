-- Per object of the load: records loaded and records quarantined (the manifest's counts).
select source, object_key, sum(loaded) as loaded, sum(bad) as bad
from (
    select source, object_key, count(*) as loaded, 0 as bad
    from raw_ses_records
    group by all
    union all
    select source, object_key, count(distinct record_index), 0
    from staged_log_bounces
    group by all
    union all
    select source, object_key, 0, count(*)
    from _quarantine
    group by all
)
group by all
