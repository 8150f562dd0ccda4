-- The export's state, after its manifest is in the lake: the next export to this target starts from it.
insert into _lake_exports values (
    $target, $load_id, now(), $lineage, $erasures, $aggregates_built_at, $full_export,
    $partitions_written, $partitions_kept, $rows_written, $bytes_written, $seconds
);
