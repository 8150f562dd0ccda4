-- What the whole account already knows about each planned address of the list $addresses (lower-
-- cased by the caller): how often it hard-bounced (SES's rule, as in
-- fct_recipient_outcomes.hard_bounced, in any portal, at any time) and when last; whether any event
-- put it on an SES suppression list (suppressed); how many sends
-- its domain (after the last @; '' without one) had and how many of them hard-bounced. A domain is
-- dead when it had at least $dead_domain_min_sent sends and every one hard-bounced. simulator: the
-- address is SES's mailbox simulator, which no rate counts.
with planned as (
    select distinct
        a.address,
        case when contains(a.address, '@') then regexp_extract(a.address, '@([^@]*)$', 1) else '' end
            as domain
    from (select unnest(cast($addresses as varchar[])) as address) as a
),

-- The address facts count hard bounces per portal by the outcomes' rule: their sums are the account's.
known as (
    select
        f.recipient,
        cast(sum(f.hard_bounces) as bigint) as hard_bounces,
        max(f.last_hard_bounce_at) as last_hard_bounce_at,
        bool_or(f.suppressed) as suppressed
    from fct_address_facts as f
    -- By key only: an integer test of every row. The addresses are told apart by the join to
    -- `planned` below (another address under the same key is a group of its own, joined to nothing
    -- unless it is planned too), as a second filter on the address here would decompress every
    -- address the scan passes.
    where f.recipient_key in (select address_key(address) from planned)
    group by f.recipient
),

-- A hard-bounced message was sent, so the address facts' per-address counts add up to the domain's
-- (kept per portal in fct_portal_domains).
domains as (
    select
        d.recipient_domain,
        cast(sum(d.sends) as bigint) as sent,
        cast(sum(d.hard_bounces) as bigint) as hard_bounced
    from fct_portal_domains as d
    where d.recipient_domain in (select domain from planned)
    group by d.recipient_domain
),

final as (
    select
        p.address,
        p.domain,
        coalesce(k.hard_bounces, 0) as hard_bounces,
        k.last_hard_bounce_at,
        coalesce(k.suppressed, false) as suppressed,
        coalesce(d.sent, 0) as domain_sent,
        coalesce(d.hard_bounced, 0) as domain_hard_bounced,
        coalesce(k.hard_bounces, 0) > 0 as known_hard_bounce,
        coalesce(d.sent >= $dead_domain_min_sent and d.hard_bounced = d.sent, false) as dead_domain,
        is_ses_simulator(p.domain) as simulator
    from planned as p
    left join known as k on k.recipient = p.address
    left join domains as d on d.recipient_domain = p.domain
)

select * from final
order by address
