-- Rates over the window ($as_of - $window_days days, $as_of], by one $dimension:
-- account | portal | rollup (a portal with all its sub-portals) | domain | batch | message_type | reason,
-- over the whole account ($portals null), or only the mail of the portals in $portals (from
-- reads.members: a portal, or a portal with its sub-portals).
-- Only hard bounces make the bounce rate (SES's rule); rates are attributed to the time of sending;
-- SES mailbox-simulator mail is left out, as SES leaves it out.
with window_rows as (
    -- Only the columns counted: the outcomes also carry wide per-message bounce details.
    select
        portal_id, recipient, recipient_domain, upload_batch_id, message_type, bounce_reason,
        sent, delivered, hard_bounced, soft_bounced, complained, rejected, suppressed
    from fct_rated_outcomes
    where sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        -- The window by send date too (implied: sent_date is sent_at's UTC date): a lake prunes by it.
        and sent_date between cast($as_of::timestamptz - to_days(cast($window_days as integer)) as date)
            and cast($as_of::timestamptz as date)
        and (
            cast($portals as varchar[]) is null
            or list_contains(cast($portals as varchar[]), portal_id)
        )
),

keyed as (
    select
        case $dimension
            when 'account' then 'account'
            when 'portal' then coalesce(portal_id, '(unattributed)')
            when 'domain' then coalesce(recipient_domain, '(none)')
            when 'batch' then coalesce(upload_batch_id, '(none)')
            when 'message_type' then coalesce(message_type, '(none)')
            when 'reason' then coalesce(bounce_reason, '(none)')
        end as key,
        w.*
    from window_rows as w
    where $dimension <> 'rollup'
    union all
    select
        t.root_portal_id as key,
        w.*
    from window_rows as w
    inner join dim_portal_tree as t on t.portal_id = w.portal_id
    where $dimension = 'rollup'
),

counted as (
    select
        key,
        count(*) filter (where sent) as sent,
        count(*) filter (where sent and delivered) as delivered,
        count(*) filter (where sent and hard_bounced) as hard_bounced,
        count(*) filter (where sent and soft_bounced) as soft_bounced,
        count(*) filter (where sent and complained) as complaints,
        count(*) filter (where rejected) as rejects,
        count(*) filter (where suppressed) as suppressed,
        -- Not a FILTER clause: DuckDB's filtered distinct count costs ten times the rest of the grouping.
        count(distinct case when sent and hard_bounced then recipient end) as hard_bounced_addresses
    from keyed
    group by key
),

final as (
    select
        key,
        sent,
        delivered,
        hard_bounced,
        soft_bounced,
        complaints,
        rejects,
        suppressed,
        hard_bounced_addresses,
        hard_bounced / nullif(sent, 0) as hard_rate,
        soft_bounced / nullif(sent, 0) as soft_rate,
        complaints / nullif(sent, 0) as complaint_rate,
        delivered / nullif(sent, 0) as delivery_rate,
        -- Each key's share of the account's hard bounces (overlapping for rollup).
        hard_bounced / nullif(sum(hard_bounced) over (), 0) as share_of_hard_bounces
    from counted
)

select * from final
order by hard_bounced desc, sent desc, key
