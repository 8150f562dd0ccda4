-- Upload batches (the upload_batch_id of each message) ranked by hard-bounce rate over the whole loaded
-- history, for every portal ($portal_id null) or one portal (with the portals below it when $rollup):
-- sends, hard bounces, the directory's upload date, file name and size (dir_batches.row_count).
-- SES mailbox-simulator mail is left out, as from every rate; a batch with no mail that has a send
-- date (only bounce mails of it, none sent) is in no row.
with sends as (
    -- Whole history per batch: the sums of its send days (queries/models/mart_portal_days.sql).
    select
        upload_batch_id,
        portal_id,
        cast(sum(sent) as bigint) as sent,
        cast(sum(hard_bounced) as bigint) as hard_bounced,
        cast(sum(soft_bounced) as bigint) as soft_bounced,
        min(first_sent_at) as first_sent,
        max(last_sent_at) as last_sent
    from mart_portal_days
    where upload_batch_id is not null
        and (
            cast($portal_id as varchar) is null
            or portal_id in (select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))))
        )
    group by upload_batch_id, portal_id
),

final as (
    select
        s.upload_batch_id as batch_id,
        s.portal_id,
        b.uploaded_at,
        b.filename,
        b.row_count,
        s.sent,
        s.hard_bounced,
        s.soft_bounced,
        s.hard_bounced / nullif(s.sent, 0) as hard_rate,
        s.first_sent,
        s.last_sent
    from sends as s
    left join dir_batches as b
        on b.batch_id = s.upload_batch_id and b.portal_id is not distinct from s.portal_id
)

select * from final
order by hard_rate desc nulls last, hard_bounced desc, batch_id, portal_id
