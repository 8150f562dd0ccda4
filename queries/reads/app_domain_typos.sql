-- Recipient domains that look like a typo of a major provider (int_domain_typos), with how many
-- addresses use them and how many of those bounced, for the account ($portal_id null) or one portal
-- (with the portals below it when $rollup), over the whole loaded history.
with scoped as (
    -- The address facts themselves: the per-domain windows of mart_address_facts are not needed here.
    select f.portal_id, f.recipient, f.recipient_domain, f.bounces
    from fct_address_facts as f
    where cast($portal_id as varchar) is null
        or f.portal_id in (select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean))))
),

final as (
    select
        t.domain,
        t.suggestion,
        count(distinct f.recipient) as addresses,
        count(distinct f.recipient) filter (where f.bounces > 0) as bounced_addresses,
        string_agg(
            distinct coalesce(f.portal_id, '(unattributed)'), ', '
            order by coalesce(f.portal_id, '(unattributed)')
        ) as portals,
        min(f.recipient) as example
    from int_domain_typos as t
    inner join scoped as f on f.recipient_domain = t.domain
    group by t.domain, t.suggestion
)

select * from final
order by bounced_addresses desc, addresses desc, domain
