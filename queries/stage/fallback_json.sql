-- The records Python split out of objects DuckDB refused (fallback_json), as unwrap.sql reads them.
-- Python's JSON and DuckDB's differ at the edges (NaN, huge numbers): DuckDB decides, and what it
-- refuses is quarantined (fallback_refused.sql).
create or replace temp view staged_json as
select source, object_key, record_index, byte_offset, received_date, text::json as j
from fallback_json
where json_valid(text)
