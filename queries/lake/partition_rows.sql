-- Rows per send date of one partitioned lake table as the database holds it now (null: no send time).
select
    sent_date,
    count(*) as row_count
from query_table($table)
group by sent_date
