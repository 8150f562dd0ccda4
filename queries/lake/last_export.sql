-- The last export to one target that this database recorded (none: the next one is a full export).
select load_id, lineage, erasures, aggregates_built_at
from _lake_exports
where target = $target
order by exported_at desc
limit 1
