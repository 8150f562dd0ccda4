-- The split records DuckDB's JSON parser refuses, with their place in the object, for the quarantine.
select source, object_key, record_index, byte_offset, left(text, 200) as excerpt
from fallback_json
where not json_valid(text)
