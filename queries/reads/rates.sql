-- Rates over the window ($as_of - $window_days days, $as_of], by one $dimension:
-- account | portal | rollup (a portal with all its sub-portals) | domain | batch | message_type | reason,
-- over the whole account ($portals null), or only the mail of the portals in $portals (from
-- reads.members: a portal, or a portal with its sub-portals).
-- Only hard bounces make the bounce rate (SES's rule); rates are attributed to the time of sending;
-- SES mailbox-simulator mail is left out, as SES leaves it out. A row counts under its key
-- (macros.sql rate_key; a roll-up's key is each root whose tree holds the portal).
-- The window is whole UTC days of sending between two partial ones: the whole days are the sums of
-- the counts kept per day (mart_portal_days by portal and batch, mart_portal_day_keys by domain,
-- message type and reason), the two edge days are counted from the outcomes themselves, and the
-- distinct hard-bounced addresses come from mart_hard_bounces, to the microsecond.
-- The window's bounds are written out where they are used: constants when the query is planned, so
-- each scan reads only the row groups of its days.
with whole_days as (
    select
        portal_id,
        rate_key($dimension, portal_id, null, upload_batch_id, null, null) as key,
        sent, delivered, hard_bounced, soft_bounced, complaints, rejects, suppressed
    from mart_portal_days
    where $dimension in ('account', 'portal', 'rollup', 'batch')
        and sent_date > cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
        and sent_date < cast($as_of::timestamptz as date)
        and in_portals(portal_id, cast($portals as varchar[]))
    union all
    select
        portal_id,
        key,
        sent, delivered, hard_bounced, soft_bounced, complaints, rejects, suppressed
    from mart_portal_day_keys
    where dimension = $dimension
        and sent_date > cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
        and sent_date < cast($as_of::timestamptz as date)
        and in_portals(portal_id, cast($portals as varchar[]))
),

edge_days as (
    select
        portal_id,
        rate_key($dimension, portal_id, recipient_domain, upload_batch_id, message_type, bounce_reason) as key,
        count(*) filter (where sent) as sent,
        count(*) filter (where sent and delivered) as delivered,
        count(*) filter (where sent and hard_bounced) as hard_bounced,
        count(*) filter (where sent and soft_bounced) as soft_bounced,
        count(*) filter (where sent and complained) as complaints,
        count(*) filter (where rejected) as rejects,
        count(*) filter (where suppressed) as suppressed
    from fct_rated_outcomes
    where sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        -- Only the edge days' row groups: the two days are constants the scan prunes by.
        and (
            sent_date = cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
            or sent_date = cast($as_of::timestamptz as date)
        )
        and in_portals(portal_id, cast($portals as varchar[]))
    group by all
),

hard_bounced_addresses as (
    select portal_id, recipient,
        rate_key($dimension, portal_id, recipient_domain, upload_batch_id, message_type, bounce_reason) as key
    from mart_hard_bounces
    where sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        and in_portals(portal_id, cast($portals as varchar[]))
),

portal_rows as (
    select * from whole_days
    union all
    select * from edge_days
),

keyed as (
    select key, sent, delivered, hard_bounced, soft_bounced, complaints, rejects, suppressed
    from portal_rows
    where $dimension <> 'rollup'
    union all
    select t.root_portal_id, r.sent, r.delivered, r.hard_bounced, r.soft_bounced, r.complaints, r.rejects,
        r.suppressed
    from portal_rows as r
    inner join dim_portal_tree as t on t.portal_id = r.portal_id
    where $dimension = 'rollup'
),

addresses_keyed as (
    select key, recipient from hard_bounced_addresses where $dimension <> 'rollup'
    union all
    select t.root_portal_id, a.recipient
    from hard_bounced_addresses as a
    inner join dim_portal_tree as t on t.portal_id = a.portal_id
    where $dimension = 'rollup'
),

summed as (
    select
        key,
        cast(sum(sent) as bigint) as sent,
        cast(sum(delivered) as bigint) as delivered,
        cast(sum(hard_bounced) as bigint) as hard_bounced,
        cast(sum(soft_bounced) as bigint) as soft_bounced,
        cast(sum(complaints) as bigint) as complaints,
        cast(sum(rejects) as bigint) as rejects,
        cast(sum(suppressed) as bigint) as suppressed
    from keyed
    group by key
),

distinct_addresses as (
    select key, count(distinct recipient) as hard_bounced_addresses
    from addresses_keyed
    group by key
),

final as (
    select
        s.key,
        s.sent,
        s.delivered,
        s.hard_bounced,
        s.soft_bounced,
        s.complaints,
        s.rejects,
        s.suppressed,
        coalesce(a.hard_bounced_addresses, 0) as hard_bounced_addresses,
        s.hard_bounced / nullif(s.sent, 0) as hard_rate,
        s.soft_bounced / nullif(s.sent, 0) as soft_rate,
        s.complaints / nullif(s.sent, 0) as complaint_rate,
        s.delivered / nullif(s.sent, 0) as delivery_rate,
        -- Each key's share of the account's hard bounces (overlapping for rollup).
        s.hard_bounced / nullif(sum(s.hard_bounced) over (), 0) as share_of_hard_bounces
    from summed as s
    left join distinct_addresses as a on a.key = s.key
)

select * from final
order by hard_bounced desc, sent desc, key
