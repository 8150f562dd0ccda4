-- Tables the pipeline writes. Views in queries/ read them; nothing else writes them.
-- Every statement is idempotent so a new or an old database can be brought up to date.

-- One row per refresh that committed.
create table if not exists _loads (
    load_id bigint primary key,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    sources varchar,
    objects_seen bigint,
    objects_new bigint,
    objects_failed bigint,
    records_loaded bigint,
    records_quarantined bigint,
    records_duplicate bigint,
    facts_new bigint,
    directory_loaded boolean,
    seconds double
);

-- Manifest: every object (file, S3 object, SQS message) a load has read, good or bad.
create table if not exists _ingest_objects (
    source varchar not null,
    object_key varchar not null,
    etag varchar,
    size_bytes bigint,
    load_id bigint not null,
    status varchar not null,          -- ok | partial | failed
    records bigint,
    quarantined bigint,
    error varchar
);

-- Malformed input, kept with where it came from and why it was refused.
create table if not exists _quarantine (
    load_id bigint not null,
    source varchar not null,
    object_key varchar not null,
    record_index bigint,              -- null when the whole object was refused
    byte_offset bigint,
    reason varchar not null,
    excerpt varchar
);

-- Every object exactly as received (the gzip bytes of an S3 object, the body of an SQS message),
-- so every fact can be rebuilt (`python -m pipelines rebuild`) without the source still holding it.
-- Kept as bytes, not as parsed records: copying them costs a fraction of re-encoding the JSON.
create table if not exists raw_objects (
    load_id bigint not null,
    source varchar not null,
    object_key varchar not null,
    etag varchar,
    received_date date,               -- partition key for a later Parquet copy
    -- The bytes as received live beside the database, named by their SHA-256
    -- (pipelines/warehouse/raw_store.py): appended here, they made every checkpoint rewrite them all.
    sha256 varchar not null,
    size_bytes bigint not null
);

-- Recipient-level facts: one row per (message, recipient, event), deduplicated on event_key.
create table if not exists fct_recipient_events (
    event_key varchar not null,
    load_id bigint not null,
    source_kind varchar not null,     -- ses_event | ses_notification | log
    message_id varchar,
    event_type varchar not null,
    event_at timestamptz,
    sent_at timestamptz,
    sent_date date,
    recipient varchar not null,
    recipient_domain varchar,
    bounce_type varchar,
    bounce_subtype varchar,
    bounce_action varchar,
    status_code varchar,
    diagnostic varchar,
    reporting_mta varchar,
    feedback_id varchar,
    complaint_type varchar,
    complaint_subtype varchar,
    delay_type varchar,
    bounce_class varchar,             -- hard | soft, for the address (pipelines/classify.py)
    reason varchar,                   -- bounce reason (pipelines/bounce_rules.py)
    portal_id varchar,
    upload_batch_id varchar,
    message_type varchar,
    attribution varchar,              -- tag | header | send | directory | null (unattributed)
    recipient_key bigint              -- address_key(recipient) (queries/macros.sql)
);

-- Each portal's status after the last refresh (alone and rolled up with its sub-portals).
create table if not exists _portal_status (
    portal_id varchar not null,
    scope varchar not null,           -- alone | rollup
    status varchar not null,
    hard_rate double,
    complaint_rate double,
    sent bigint,
    as_of timestamptz,
    load_id bigint
);

-- The last refresh's judgement of every portal in full (queries/reads/portal_status.sql's rows), with
-- the newest event it was judged at and the policy windows it was judged by: a read at that moment and
-- under those windows is the same judgement, so it is read from here instead of made again
-- (pipelines/reports/metrics.py portal_status). Emptied by an erasure, which changes the counts.
create table if not exists _status_judged (
    scope varchar not null,
    portal_id varchar not null,
    name varchar,
    parent_portal_id varchar,
    deciding_window varchar,
    sent bigint,
    hard_bounced bigint,
    hard_rate double,
    soft_bounced bigint,
    complaints bigint,
    complaint_rate double,
    warning double,
    cutoff double,
    complaint_warning double,
    complaint_cutoff double,
    status varchar,
    severity integer,
    why varchar,
    as_of timestamptz,
    windows_key varchar not null,
    load_id bigint not null
);

-- Status transitions, recorded by the refresh that saw them.
create table if not exists _alerts (
    load_id bigint not null,
    recorded_at timestamptz not null,
    as_of timestamptz,
    portal_id varchar not null,
    scope varchar not null,
    from_status varchar,              -- null: the portal's first judged status
    to_status varchar not null,
    hard_rate double,
    complaint_rate double,
    sent bigint
);

-- The alert outbox's delivery state: one row per (alert or digest, channel) once delivery was tried.
-- `alert_id` is _alerts.alert_id (the receivers' idempotency key), or `digest:<channel>:<UTC day>`.
-- Pending: no row yet, or next_attempt_at set; delivered_at, gave_up_at or skipped_at end it.
create table if not exists _alert_deliveries (
    alert_id varchar not null,
    channel varchar not null,
    attempts integer not null,
    first_attempt_at timestamptz,
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    delivered_at timestamptz,
    gave_up_at timestamptz,
    skipped_at timestamptz,           -- not this channel's: its transitions, portals or scopes
    last_error varchar                -- the channel's answer, never its URL or credentials
);

-- Every delivery channel the database has seen: a channel delivers the alerts recorded by the load
-- it was first seen at and later, never the history from before it was configured.
create table if not exists _alert_channels (
    channel varchar not null,
    kind varchar not null,
    since_load_id bigint not null,
    added_at timestamptz not null
);

-- Erasure requests carried out (`python -m pipelines forget`): when and how much, never whom.
create table if not exists _erasures (
    erased_at timestamptz not null,
    rows_deleted bigint,
    quarantine_rows_deleted bigint,
    raw_objects_rewritten bigint,
    raw_records_removed bigint
);

-- Columns added after the first release of the table: older databases gain them here.
alter table fct_recipient_events add column if not exists bounce_class varchar;
alter table fct_recipient_events add column if not exists reason varchar;
-- Filled for older rows by queries/commit/load.sql.
alter table fct_recipient_events add column if not exists recipient_key bigint;
-- Records of the object that were control messages (SNS subscription confirmations, SES's topic
-- validation test): read, neither loaded nor quarantined. Null in rows written before it existed.
alter table _ingest_objects add column if not exists skipped bigint;
-- Each alert's id, the receivers' idempotency key (a UUID: load ids start again after a rebuild).
-- Null in alerts recorded before delivery existed: they are history, never delivered.
alter table _alerts add column if not exists alert_id varchar;
-- The policy window that decided the status the alert reports (null before it was recorded).
alter table _alerts add column if not exists deciding_window varchar;

-- The definition (`catalog.incremental_definitions_hash`) the incremental tables were last built with: a refresh
-- rebuilds them whole when it differs, so a changed rule never mixes with rows built by the old one.
create table if not exists _aggregate_definitions (
    definition_hash varchar not null,
    built_at timestamptz not null
);

-- The views and macros the file holds (a hash of their definitions, `catalog.definitions_hash`): a reader whose
-- code defines them differently lays its own over them until the next refresh stores them.
create table if not exists _view_definitions (
    definition_hash varchar not null,
    applied_at timestamptz not null
);

-- Directory snapshot from the LMS, replaced whole on each directory load.
create table if not exists dir_portals (
    portal_id varchar primary key,
    name varchar,
    parent_portal_id varchar,
    email_enabled boolean
);
create table if not exists dir_users (
    user_id varchar,
    portal_id varchar,
    name varchar,
    email varchar,
    status varchar,
    upload_batch_id varchar,
    created_at timestamptz
);
create table if not exists dir_batches (
    batch_id varchar,
    portal_id varchar,
    uploaded_at timestamptz,
    filename varchar,
    row_count bigint
);
create table if not exists _directory_loads (
    load_id bigint not null,
    loaded_at timestamptz not null,
    portals bigint,
    users bigint,
    batches bigint
);

-- SES's own figures, fetched from CloudWatch (`refresh --ses-reputation`, `python -m pipelines reputation`)
-- so the Overview can show them beside ours without calling AWS: the account's latest datapoint of each
-- metric, one row per (region, metric, measured_at). Not derived from raw_objects: a rebuild cannot remake it.
create table if not exists _ses_reputation (
    fetched_at timestamptz not null,
    region varchar,
    metric varchar not null,          -- Reputation.BounceRate | Reputation.ComplaintRate
    value double not null,            -- a fraction, as SES publishes it: 0.02 = 2 %
    measured_at timestamptz not null  -- the start of the 5-minute period holding SES's datapoint
);

-- Parquet lake exports (`python -m pipelines lake export`), one row per export: the next export to the
-- same target rewrites only the partitions the loads after `load_id` touched, unless something below
-- moved since (then it rewrites everything). Not carried over by a rebuild, whose loads start from 1.
create table if not exists _lake_exports (
    target varchar not null,          -- the folder (absolute) or s3://bucket/prefix
    load_id bigint not null,          -- the newest load the export holds
    exported_at timestamptz not null,
    lineage timestamptz,              -- started_at of the database's first load: differs after a rebuild
    erasures bigint not null,         -- _erasures rows at the export: a later erasure rewrites everything
    aggregates_built_at timestamptz,  -- the incremental tables' last whole rebuild (directory load, definition)
    full_export boolean not null,
    partitions_written bigint not null,
    partitions_kept bigint not null,
    rows_written bigint not null,
    bytes_written bigint not null,
    seconds double not null
);

-- Set only in a file `lake marts` wrote (pipelines/lake/marts.py): computed on Spark from a lake, a
-- serving copy with no raw objects, so a refresh or rebuild refuses it (warehouse.ServingFile).
create table if not exists _lake_marts (
    lake varchar not null,
    load_id bigint not null,       -- the lake manifest's: the last load the export held
    engine varchar not null,
    master varchar not null,
    built_at timestamptz not null,
    seconds double not null
);
