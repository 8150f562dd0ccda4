-- grain: one row per (portal_id, sent_date, upload_batch_id) with rated outcomes: each day's counts of
-- the (message, recipient) rows of fct_rated_outcomes (SES's mailbox simulator left out), by the UTC day
-- of sending and the message's upload batch (null: untagged); portal_id null is the unattributed mail;
-- outcomes with no send date are in no window. bounced: rows with any bounce (the restore brief's
-- breakdown). Counts are of rows, as every rate counts them, so a span
-- of whole days is the sum of its days and a batch's history the sum of its rows (its first and last
-- send the min and max of theirs): the status, the daily rates, the status timeline, the upload
-- batches and the causes' batch rates read ~days x batches rows here instead of every outcome. Kept
-- at each commit for the send days whose outcomes the load changed (all after a rebuild); a partial day
-- at a window's edge is counted from the outcomes themselves (queries/reads/portal_status.sql).
-- scope: a list of send dates (the days to recompute), or null for every day.
-- materialised: incremental table (scope date[]), ordered by sent_date
select
    portal_id,
    sent_date,
    upload_batch_id,
    count(*) filter (where sent) as sent,
    count(*) filter (where sent and delivered) as delivered,
    count(*) filter (where sent and hard_bounced) as hard_bounced,
    count(*) filter (where sent and soft_bounced) as soft_bounced,
    count(*) filter (where sent and complained) as complaints,
    count(*) filter (where rejected) as rejects,
    count(*) filter (where suppressed) as suppressed,
    count(*) filter (where bounced_at is not null) as bounced,
    min(sent_at) as first_sent_at,
    max(sent_at) as last_sent_at
from fct_rated_outcomes
where sent_date is not null
    and on_send_days(sent_date, scope)
group by portal_id, sent_date, upload_batch_id
