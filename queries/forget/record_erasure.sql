-- The erasure's audit row: when, and how much was removed; never the address itself.
insert into _erasures values (now(), $rows_deleted, $quarantine_rows, $objects_rewritten, $records_removed);

-- The last judgement counted the erased address's mail: the next read judges again.
delete from _status_judged
