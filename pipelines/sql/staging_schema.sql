-- Tables that exist only in the private staging database of one load.

-- The SES records of the new objects (SNS envelopes unwrapped), one row per record, with the
-- reason to quarantine it if it has one. `raw_ses_records` is the good ones, which the views in
-- queries/staging/ read.
create table staged_records (
    load_id bigint,
    source varchar,
    object_key varchar,
    record_index bigint,
    byte_offset bigint,
    received_date date,
    envelope varchar,
    payload json,
    problem varchar,
    excerpt varchar
);

-- The objects' file names in the staging folder, and where each came from.
create table staged_files (
    filename varchar,
    source varchar,
    object_key varchar,
    received_date date
);

create view raw_ses_records as
select load_id, source, object_key, record_index, envelope, received_date, payload
from staged_records
where problem is null;
