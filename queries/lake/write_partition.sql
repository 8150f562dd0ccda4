-- One send date's partition as one file: when DuckDB split a partition over several files (it may write
-- one per thread), the export writes that partition again alone, so each partition swaps as one file.
copy (
    select * exclude (sent_date) from query_table($table)
    where sent_date is not distinct from $sent_date::date
) to $path (format parquet, compression zstd);
