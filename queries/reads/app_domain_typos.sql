-- Recipient domains that look like a typo of a major provider (the typo verdict fct_address_facts holds
-- per address, by int_domain_typos), with how many addresses use them and how many of those bounced,
-- for the account ($portal_id null) or one portal (with the portals below it when $rollup), over the
-- whole loaded history.
with scoped as (
    -- The address facts themselves: the per-domain totals of mart_address_facts are not needed here.
    select f.portal_id, f.recipient, f.recipient_domain, f.typo_suggestion, f.bounces
    from fct_address_facts as f
    where f.typo_suggestion is not null
        and (
            cast($portal_id as varchar) is null
            or f.portal_id in (
                select unnest(portal_members(cast($portal_id as varchar), cast($rollup as boolean)))
            )
        )
),

final as (
    select
        recipient_domain as domain,
        typo_suggestion as suggestion,
        count(distinct recipient) as addresses,
        count(distinct recipient) filter (where bounces > 0) as bounced_addresses,
        string_agg(
            distinct coalesce(portal_id, '(unattributed)'), ', '
            order by coalesce(portal_id, '(unattributed)')
        ) as portals,
        min(recipient) as example
    from scoped
    group by recipient_domain, typo_suggestion
)

select * from final
order by bounced_addresses desc, addresses desc, domain
