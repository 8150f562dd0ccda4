-- The first value of each typed directory column that does not read as its type: a directory load
-- with one is refused whole (the staged CSVs are all text until the commit casts them).
select 'users.csv' as file, 'created_at' as col, 'timestamptz' as type, created_at as value
from staged_dir_users
where nullif(trim(created_at), '') is not null and try_cast(created_at as timestamptz) is null
union all
select 'batches.csv', 'uploaded_at', 'timestamptz', uploaded_at
from staged_dir_batches
where nullif(trim(uploaded_at), '') is not null and try_cast(uploaded_at as timestamptz) is null
union all
select 'batches.csv', 'rows', 'bigint', "rows"
from staged_dir_batches
where nullif(trim("rows"), '') is not null and try_cast("rows" as bigint) is null
