-- The load's bookkeeping, last in the commit's transaction: its objects join the manifest (so the
-- next refresh skips them) and the load is recorded with its counts (Pipeline health reads both).
insert into _ingest_objects select * from stg._ingest_objects;

insert into _loads values (
    $load_id, now() - to_microseconds(cast($elapsed * 1e6 as bigint)), now(),
    $sources, $seen, $new, $failed, $loaded, $quarantined, $duplicate, $facts,
    $directory, $elapsed
);
