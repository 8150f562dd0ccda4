-- Refresh runs, newest first.
select
    load_id,
    finished_at,
    seconds,
    objects_seen,
    objects_new,
    objects_failed,
    records_loaded,
    records_quarantined,
    records_duplicate,
    facts_new,
    directory_loaded,
    sources
from _loads
order by load_id desc
limit $limit
