-- Tables that exist only in the private staging database of one load.

-- An SES record (or an SNS envelope around one) parsed into the fields every later layer reads,
-- in one pass over the JSON, recipient lists included (a Send's or Delivery's addresses, a Bounce's,
-- Complaint's or DeliveryDelay's recipient objects), so flattening them parses nothing again. SES
-- may add fields at any time and they are ignored; a field of the wrong type reads as null or as
-- its JSON text, never as an error.
-- The SNS fields besides Type and Message only tell an SNS control message (subscription
-- confirmations, SES's topic validation test) from junk that merely looks like one.
create macro ses_record(doc) as from_json(doc, '{
    "Type": "VARCHAR", "Message": "VARCHAR",
    "MessageId": "VARCHAR", "TopicArn": "VARCHAR", "SubscribeURL": "VARCHAR", "Token": "VARCHAR",
    "eventType": "VARCHAR", "notificationType": "VARCHAR",
    "mail": {"messageId": "VARCHAR", "timestamp": "VARCHAR", "tags": "MAP(VARCHAR, VARCHAR[])",
             "headers": [{"name": "VARCHAR", "value": "VARCHAR"}], "destination": "VARCHAR[]"},
    "bounce": {"bounceType": "VARCHAR", "bounceSubType": "VARCHAR", "timestamp": "VARCHAR",
               "feedbackId": "VARCHAR", "reportingMTA": "VARCHAR",
               "bouncedRecipients": [{"emailAddress": "VARCHAR", "action": "VARCHAR",
                                      "status": "VARCHAR", "diagnosticCode": "VARCHAR"}]},
    "complaint": {"timestamp": "VARCHAR", "feedbackId": "VARCHAR", "complaintFeedbackType": "VARCHAR",
                  "complaintSubType": "VARCHAR",
                  "complainedRecipients": [{"emailAddress": "VARCHAR", "action": "VARCHAR",
                                            "status": "VARCHAR", "diagnosticCode": "VARCHAR"}]},
    "delivery": {"timestamp": "VARCHAR", "reportingMTA": "VARCHAR", "smtpResponse": "VARCHAR",
                 "recipients": "VARCHAR[]"},
    "deliveryDelay": {"timestamp": "VARCHAR", "delayType": "VARCHAR", "reportingMTA": "VARCHAR",
                      "delayedRecipients": [{"emailAddress": "VARCHAR", "action": "VARCHAR",
                                             "status": "VARCHAR", "diagnosticCode": "VARCHAR"}]},
    "open": {"timestamp": "VARCHAR"},
    "click": {"timestamp": "VARCHAR"},
    "subscription": {"timestamp": "VARCHAR"},
    "reject": {"reason": "VARCHAR"},
    "failure": {"errorMessage": "VARCHAR"}
}');

-- A recipient of any SES record as the staging models flatten it: a Send's or Delivery's bare
-- address takes the shape of a Bounce's recipient object.
create macro ses_addresses(addresses) as list_transform(addresses, lambda a: {
    'emailAddress': a, 'action': null::varchar, 'status': null::varchar, 'diagnosticCode': null::varchar
});

-- The SES records of the new objects (SNS envelopes unwrapped), one row per record, parsed, with
-- the reason to quarantine it if it has one and the start of its text to show with that reason.
-- `skipped` names a control message (SNS subscription confirmations, SES's topic validation test):
-- read and counted, but neither an SES record nor malformed. `raw_ses_records` is the good ones,
-- which the staging models in queries/stage/ read. Temporary, as they are (catalog.stage_model): only
-- what the commit copies is written to the staging file.
create temp table staged_records as
select
    null::bigint as load_id,
    null::varchar as source,
    null::varchar as object_key,
    null::bigint as record_index,
    null::bigint as byte_offset,
    null::date as received_date,
    null::varchar as envelope,
    ses_record('{}') as r,
    null::varchar as problem,
    null::varchar as excerpt,
    null::varchar as skipped
where false;

-- The objects' file names in the staging folder, and where each came from.
create table staged_files (
    filename varchar,
    source varchar,
    object_key varchar,
    received_date date
);

create temp view raw_ses_records as
select load_id, source, object_key, record_index, envelope, received_date, r
from staged_records
where problem is null and skipped is null;

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
