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
-- Stored as bytes, not as parsed records: copying them costs a fraction of re-encoding the JSON.
create table if not exists raw_objects (
    load_id bigint not null,
    source varchar not null,
    object_key varchar not null,
    etag varchar,
    received_date date,               -- partition key for a later Parquet copy
    data blob not null
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
    attribution varchar               -- tag | header | send | directory | null (unattributed)
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

-- int_recipient_outcomes kept as a table: one row per (message, recipient), refreshed at each
-- commit for the messages the load touched (all of them after a directory reload), so pages and
-- commands never recompute it from every fact. A test checks it equals the view exactly.
create table if not exists fct_recipient_outcomes (
    message_key varchar,
    message_id varchar,
    recipient varchar,
    recipient_domain varchar,
    portal_id varchar,
    upload_batch_id varchar,
    message_type varchar,
    sent_at timestamptz,
    sent_date date,
    is_simulator boolean,
    sent boolean,
    delivered boolean,
    hard_bounced boolean,
    soft_bounced boolean,
    complained boolean,
    rejected boolean,
    delayed boolean,
    suppressed boolean,
    opened boolean,
    clicked boolean,
    address_hard boolean,
    bounce_reason varchar,
    bounced_at timestamptz,
    first_event_at timestamptz,
    last_event_at timestamptz,
    last_delivery_at timestamptz,
    first_bounce_at timestamptz,
    last_bounce_at timestamptz,
    latest_bounce struct(
        bounce_at timestamptz, reason varchar, diagnostic varchar, bounce_type varchar,
        bounce_subtype varchar, bounce_class varchar
    ),
    latest_attempted_bounce struct(
        bounce_at timestamptz, reason varchar, diagnostic varchar, not_attempted boolean, refused boolean
    ),
    refused boolean,
    first_refusal_at timestamptz,
    last_refusal_at timestamptz
);

-- int_address_facts kept as a table: one row per (portal_id, recipient), refreshed at each commit for
-- the addresses the load touched (all of them after a directory load). mart_address_facts reads it,
-- so no page aggregates every event of every address. A test checks it equals the view.
create table if not exists fct_address_facts (
    portal_id varchar,
    recipient varchar,
    recipient_domain varchar,
    learner_name varchar,
    user_id varchar,
    user_status varchar,
    upload_batch_id varchar,
    user_created_at timestamptz,
    sends bigint,
    deliveries bigint,
    bounces bigint,
    hard_bounces bigint,
    soft_bounces bigint,
    dead_bounces bigint,
    refusals bigint,
    consecutive_soft_bounces bigint,
    complaints bigint,
    suppressed boolean,
    first_bounce_at timestamptz,
    last_bounce_at timestamptz,
    last_reason varchar,
    last_diagnostic varchar,
    last_bounce_type varchar,
    last_bounce_subtype varchar,
    last_bounce_class varchar,
    last_delivery_at timestamptz,
    first_refusal_at timestamptz,
    last_refusal_at timestamptz,
    first_seen_at timestamptz,
    last_seen_at timestamptz,
    last_attempt_refused boolean
);

-- Columns the outcomes gained after their first release (rebuilt by the definition check below).
alter table fct_recipient_outcomes add column if not exists first_event_at timestamptz;
alter table fct_recipient_outcomes add column if not exists last_event_at timestamptz;
alter table fct_recipient_outcomes add column if not exists last_delivery_at timestamptz;
alter table fct_recipient_outcomes add column if not exists first_bounce_at timestamptz;
alter table fct_recipient_outcomes add column if not exists last_bounce_at timestamptz;
alter table fct_recipient_outcomes add column if not exists latest_bounce struct(
    bounce_at timestamptz, reason varchar, diagnostic varchar, bounce_type varchar, bounce_subtype varchar,
    bounce_class varchar
);
alter table fct_recipient_outcomes add column if not exists latest_attempted_bounce struct(
    bounce_at timestamptz, reason varchar, diagnostic varchar, not_attempted boolean, refused boolean
);
alter table fct_recipient_outcomes add column if not exists refused boolean;
alter table fct_recipient_outcomes add column if not exists first_refusal_at timestamptz;
alter table fct_recipient_outcomes add column if not exists last_refusal_at timestamptz;

-- The definition (a hash of queries/scoped/) the aggregate tables were last built with: a refresh
-- rebuilds them whole when it differs, so a changed rule never mixes with rows built by the old one.
create table if not exists _aggregate_definitions (
    definition_hash varchar not null,
    built_at timestamptz not null
);

-- The views and macros the file holds (a hash of their definitions, pipelines/store.py): a reader whose
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
