-- Quarantined input with where it came from and why, newest load first.
select
    q.load_id,
    q.source,
    q.object_key,
    q.record_index,
    q.byte_offset,
    q.reason,
    q.excerpt
from _quarantine as q
order by q.load_id desc, q.object_key, q.record_index
limit $limit
