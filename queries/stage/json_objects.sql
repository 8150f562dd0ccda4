-- The records of the objects in the variable parse_files, one row each, numbered per object from 0:
-- what unwrap.sql reads. DuckDB splits concatenated, pretty-printed and NDJSON objects alike.
create or replace temp view staged_json as
select
    f.source,
    f.object_key,
    row_number() over (partition by r.filename) - 1 as record_index,
    null::bigint as byte_offset,
    f.received_date,
    r.json as j
from read_json_objects(getvariable('parse_files'), format = 'auto', filename = true) as r
inner join staged_files as f on f.filename = r.filename
