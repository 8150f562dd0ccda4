-- What decides whether an export can rewrite only what changed: the newest load, the database's
-- lineage (the start of its first load: a rebuild numbers loads from 1 again), the erasures carried
-- out (`forget` deletes rows on any day), the last directory load, and the last whole rebuild of the
-- incremental tables (a directory load or a changed definition recomputes every row).
select
    (select coalesce(max(load_id), 0) from _loads) as load_id,
    (select min_by(started_at, load_id) from _loads) as lineage,
    (select count(*) from _erasures) as erasures,
    (select coalesce(max(load_id), 0) from _directory_loads) as directory_load_id,
    (select max(built_at) from _aggregate_definitions) as aggregates_built_at
