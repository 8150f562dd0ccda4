-- grain: one row per (portal_id, recipient_domain) of fct_address_facts (portal_id null: the unattributed
-- mail): how many addresses of the domain the portal mailed, their sends, hard bounces (SES's rule, as
-- fct_address_facts counts them) and refusals (content, policy, spam or blocking), over the whole
-- loaded history. The domain totals mart_address_facts gives each address (a domain rejects content in
-- a portal by them) and the pre-send check's dead domains, kept at commit instead of summed over every
-- address of the domain at each read.
-- Sums of address rows, so a commit keeps them by adding the touched addresses' contributions after
-- it and taking out those from before it (queries/commit/domain_totals_out.sql, domain_totals_in.sql).
-- scope: null for every address, or the contributions of some addresses only, as fct_address_facts'
-- scope gives them (struct(recipients varchar[], shared varchar[]): the facts of the recipients not in
-- `shared` found by address_key() alone, those of `shared` by the key and the address).
-- materialised: incremental table (scope struct(recipients varchar[], shared varchar[])), ordered by portal_id
with addresses as (
    select portal_id, recipient_domain, sends, hard_bounces, refusals
    from fct_address_facts
    where scope is null
    union all
    select portal_id, recipient_domain, sends, hard_bounces, refusals
    from fct_address_facts
    where recipient_key in (
        select address_key(address)
        from (select unnest(struct_extract(scope, 'recipients')) as address)
        where not list_contains(struct_extract(scope, 'shared'), address)
    )
    union all
    select portal_id, recipient_domain, sends, hard_bounces, refusals
    from fct_address_facts
    where recipient_key in (
        select address_key(address) from (select unnest(struct_extract(scope, 'shared')) as address)
    )
        and recipient in (select unnest(struct_extract(scope, 'shared')))
)

select
    portal_id,
    recipient_domain,
    count(*) as addresses,
    cast(sum(sends) as bigint) as sends,
    cast(sum(hard_bounces) as bigint) as hard_bounces,
    cast(sum(refusals) as bigint) as refusals
from addresses
group by portal_id, recipient_domain
