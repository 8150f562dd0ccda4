-- The lake tables' columns in the tables' own order, with their DuckDB types: the manifest records
-- them so a reader registers each table with an explicit schema (Spark would move the partition
-- column last and guess its type from the folder names).
select
    table_name,
    column_name,
    data_type
from information_schema.columns
where table_catalog = current_database()
    and table_schema = 'main'
    and list_contains($tables::varchar[], table_name)
order by table_name, ordinal_position
