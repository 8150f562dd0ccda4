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

-- Bounces read from bounce mails and CSV bounce logs, already classified.
create table staged_log_bounces (
    source varchar,
    object_key varchar,
    record_index bigint,
    recipient varchar,
    event_at timestamptz,
    sent_at timestamptz,
    message_id varchar,
    bounce_class varchar,
    reason varchar,
    status_code varchar,
    diagnostic varchar,
    action varchar,
    reporting_mta varchar,
    portal_id varchar,
    upload_batch_id varchar,
    message_type varchar,
    attribution varchar
);

-- The classification of each distinct bounce signal in this load (SES type/subtype, the
-- recipient's action, status and diagnostic), from pipelines/classify.py.
create table staged_verdicts (
    verdict_key varchar,
    bounce_class varchar,
    reason varchar,
    status_found varchar
);
