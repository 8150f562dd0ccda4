-- grain: one row per (starts_after, portal_id, upload_batch_id, sent_date) with rated sends: the sends,
-- hard bounces, soft bounces and complaints of fct_rated_outcomes (SES's mailbox simulator left out,
-- the unattributed mail too) sent in the window (starts_after, as_of], by the UTC day of sending and
-- the message's upload batch (null: untagged): the windows of the status, the forecast and the
-- sparklines (queries/reads/rates.sql counts its one window by more keys the same way). A row counts by
-- when it was sent, so a bounce of an older send never counts, and nothing sent after as_of does.
-- The days between a window's two edge days are whole, so they are mart_portal_days' rows; the edge
-- days themselves (as_of's, and starts_after's unless it is the last microsecond of its day) are
-- counted from the outcomes, to the microsecond: their send dates come from the scope, so the scan of
-- the outcomes (kept in send-date order) reads only their row groups.
-- scope: struct(portals varchar[], as_of timestamptz, starts_after timestamptz[]): the portals (null:
-- every portal), the windows' common end and each window's start; null: every rated send in one window
-- (starts_after null) with no end.
-- materialised: scoped view (scope struct(portals varchar[], as_of timestamptz, starts_after timestamptz[]))
with windows as (
    select distinct starts_after
    from (select unnest(struct_extract(scope, 'starts_after')) as starts_after)
),

whole_days as (
    select
        w.starts_after,
        d.portal_id,
        d.upload_batch_id,
        d.sent_date,
        d.sent,
        d.hard_bounced,
        d.soft_bounced,
        d.complaints
    from mart_portal_days as d
    inner join windows as w
        on d.sent_date > cast(w.starts_after as date)
        and d.sent_date < cast(struct_extract(scope, 'as_of') as date)
    where d.portal_id is not null
        and in_portals(d.portal_id, struct_extract(scope, 'portals'))
),

-- as_of's own day up to as_of: whole in every window that starts before that day.
as_of_day as (
    select
        portal_id,
        upload_batch_id,
        sent_date,
        count(*) as sent,
        count(*) filter (where hard_bounced) as hard_bounced,
        count(*) filter (where soft_bounced) as soft_bounced,
        count(*) filter (where complained) as complaints
    from fct_rated_outcomes
    where sent and portal_id is not null
        and in_portals(portal_id, struct_extract(scope, 'portals'))
        and sent_date = cast(struct_extract(scope, 'as_of') as date)
        and sent_at <= struct_extract(scope, 'as_of')
    group by portal_id, upload_batch_id, sent_date
),

-- Each window's first day from its start (as_of's day too, for a window starting on it); none for a
-- window starting at the last microsecond of a day.
first_days as (
    select
        w.starts_after,
        o.portal_id,
        o.upload_batch_id,
        o.sent_date,
        count(*) as sent,
        count(*) filter (where o.hard_bounced) as hard_bounced,
        count(*) filter (where o.soft_bounced) as soft_bounced,
        count(*) filter (where o.complained) as complaints
    from fct_rated_outcomes as o
    inner join windows as w on o.sent_date = cast(w.starts_after as date)
    where o.sent and o.portal_id is not null
        and in_portals(o.portal_id, struct_extract(scope, 'portals'))
        and o.sent_date in (
            select cast(starts_after as date)
            from windows
            where starts_after <> utc_day_end(cast(starts_after as date))
        )
        and o.sent_at > w.starts_after
        and o.sent_at <= struct_extract(scope, 'as_of')
    group by w.starts_after, o.portal_id, o.upload_batch_id, o.sent_date
),

edge_days as (
    select w.starts_after, d.*
    from as_of_day as d
    inner join windows as w on cast(w.starts_after as date) < d.sent_date
    union all
    select * from first_days
),

every_send as (
    select
        cast(null as timestamptz) as starts_after,
        portal_id,
        upload_batch_id,
        sent_date,
        sent,
        hard_bounced,
        soft_bounced,
        complaints
    from mart_portal_days
    where scope is null and portal_id is not null
)

select * from whole_days
union all
select * from edge_days
union all
select * from every_send
