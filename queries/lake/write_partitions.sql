-- The partitions an export rewrites, written aside ($path, a staging folder) before each file is
-- swapped into the lake: Hive layout, one folder per send date, the date in the folder's name and not
-- in the file (null: __HIVE_DEFAULT_PARTITION__, which Spark and DuckDB both read as null). zstd: half
-- the bytes of the default snappy for about twice the write time (bench/README.md).
copy (
    select * from query_table($table)
    where list_contains($dates::date[], sent_date) or ($with_null and sent_date is null)
) to $path (format parquet, compression zstd, partition_by (sent_date));
