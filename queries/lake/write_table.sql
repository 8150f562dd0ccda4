-- A table exported whole, as one file: the directory tables and the address facts (one row per portal
-- and address over all history: no send date to partition by).
copy (select * from query_table($table)) to $path (format parquet, compression zstd);
