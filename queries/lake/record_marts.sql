-- The file is a serving copy `lake marts` wrote (pipelines/lake/marts.py): from which lake and export,
-- by which engine.
insert into _lake_marts values ($lake, $load_id, $engine, $master, now(), $seconds);

-- Built by this code's definitions: a reader takes the incremental tables as current.
insert into _aggregate_definitions values ($aggregates, now());
