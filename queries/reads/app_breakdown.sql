-- Rates over the window ($as_of - $window_days days, $as_of] by one $dimension (domain | batch |
-- message_type | reason), for the account ($portal_id null) or one portal (with every portal below it
-- when $rollup). Same rules as rates.sql: hard bounces make the rate, counted with their send,
-- SES mailbox-simulator mail left out.
with window_rows as (
    select *
    from fct_recipient_outcomes
    where not is_simulator
        and sent_at > $as_of::timestamptz - to_days(cast($window_days as integer))
        and sent_at <= $as_of::timestamptz
        and (
            cast($portal_id as varchar) is null
            or portal_id = cast($portal_id as varchar)
            or (cast($rollup as boolean) and portal_id in (
                select t.portal_id from int_portal_tree as t where t.root_portal_id = cast($portal_id as varchar)
            ))
        )
),

keyed as (
    select
        case cast($dimension as varchar)
            when 'domain' then coalesce(recipient_domain, '(none)')
            when 'batch' then coalesce(upload_batch_id, '(none)')
            when 'message_type' then coalesce(message_type, '(none)')
            when 'reason' then coalesce(bounce_reason, '(none)')
        end as key,
        *
    from window_rows
),

counted as (
    select
        key,
        count(*) filter (where sent) as sent,
        count(*) filter (where sent and hard_bounced) as hard_bounced,
        count(*) filter (where sent and soft_bounced) as soft_bounced,
        count(*) filter (where sent and complained) as complaints,
        count(distinct recipient) filter (where sent and hard_bounced) as hard_bounced_addresses
    from keyed
    group by key
),

final as (
    select
        key,
        sent,
        hard_bounced,
        soft_bounced,
        complaints,
        hard_bounced_addresses,
        hard_bounced / nullif(sent, 0) as hard_rate,
        soft_bounced / nullif(sent, 0) as soft_rate,
        complaints / nullif(sent, 0) as complaint_rate
    from counted
)

select * from final
order by hard_bounced desc, sent desc, key
