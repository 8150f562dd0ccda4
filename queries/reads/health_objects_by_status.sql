-- Objects read so far (_ingest_objects) by status: ok | partial | failed.
select
    status,
    count(*) as objects,
    cast(coalesce(sum(records), 0) as bigint) as records,
    cast(coalesce(sum(quarantined), 0) as bigint) as quarantined,
    cast(coalesce(sum(size_bytes), 0) as bigint) as bytes
from _ingest_objects
group by status
order by status
