-- Staging: valid SES records -> recipient-level facts with portal, batch and message type taken
-- from the message tags, else from a header (a named one, else X-SES-MESSAGE-TAGS).
-- Records with a defect are quarantined and leave the raw table.
insert into _quarantine
select
    s.load_id,
    s.source,
    s.object_key,
    s.record_index,
    r.byte_offset,
    s.defect,
    left(r.payload::varchar, 200)
from stg_ses_records as s
inner join staged_records as r using (source, object_key, record_index)
where s.defect is not null;

delete from raw_ses_records as raw
where exists (
    select 1 from stg_ses_records as s
    where s.defect is not null
        and s.source = raw.source
        and s.object_key = raw.object_key
        and s.record_index = raw.record_index
);

create table staged_facts as
with events as (
    select
        *,
        json_extract_string(tags, '$."' || $portal_tag || '"[0]') as tag_portal,
        json_extract_string(tags, '$."' || $batch_tag || '"[0]') as tag_batch,
        json_extract_string(tags, '$."' || $type_tag || '"[0]') as tag_type,
        from_json(headers, '[{"name":"VARCHAR","value":"VARCHAR"}]') as header_list
    from int_ses_recipient_events
),

headed as (
    select
        *,
        list_filter(header_list, lambda h: lower(h.name) = $portal_header)[1].value as header_portal,
        list_filter(header_list, lambda h: lower(h.name) = $batch_header)[1].value as header_batch,
        list_filter(header_list, lambda h: lower(h.name) = $type_header)[1].value as header_type,
        list_filter(header_list, lambda h: lower(h.name) = 'x-ses-message-tags')[1].value as ses_tags
    from events
),

attributed as (
    select
        *,
        coalesce(
            nullif(trim(tag_portal), ''),
            nullif(trim(header_portal), ''),
            nullif(regexp_extract(ses_tags, '(?:^|,)\s*' || $portal_tag || '\s*=\s*([^,]*)', 1), '')
        ) as portal_id,
        coalesce(
            nullif(trim(tag_batch), ''),
            nullif(trim(header_batch), ''),
            nullif(regexp_extract(ses_tags, '(?:^|,)\s*' || $batch_tag || '\s*=\s*([^,]*)', 1), '')
        ) as upload_batch_id,
        coalesce(
            nullif(trim(tag_type), ''),
            nullif(trim(header_type), ''),
            nullif(regexp_extract(ses_tags, '(?:^|,)\s*' || $type_tag || '\s*=\s*([^,]*)', 1), '')
        ) as message_type,
        case
            when nullif(trim(tag_portal), '') is not null then 'tag'
            when nullif(trim(header_portal), '') is not null then 'header'
            when nullif(regexp_extract(ses_tags, '(?:^|,)\s*' || $portal_tag || '\s*=\s*([^,]*)', 1), '') is not null
                then 'header'
        end as attribution
    from headed
)

select
    event_key,
    load_id,
    source_kind,
    message_id,
    event_type,
    event_at,
    sent_at,
    sent_date,
    recipient,
    recipient_domain,
    bounce_type,
    bounce_subtype,
    bounce_action,
    status_code,
    diagnostic,
    reporting_mta,
    feedback_id,
    complaint_type,
    complaint_subtype,
    delay_type,
    portal_id,
    upload_batch_id,
    message_type,
    attribution
from attributed
-- SES delivers at least once: the same event twice in this load counts once.
qualify row_number() over (partition by event_key order by object_key, record_index) = 1;
