-- grain: one row per (portal_id, recipient_domain) of fct_address_facts (portal_id null: the unattributed
-- mail): how many addresses of the domain the portal mailed, their sends, hard bounces (SES's rule, as
-- fct_address_facts counts them) and refusals (content, policy, spam or blocking), over the whole
-- loaded history. The domain totals mart_address_facts gives each address (a domain rejects content in
-- a portal by them) and the pre-send check's dead domains, kept at commit instead of summed over every
-- address of the domain at each read.
-- Sums of address rows, so a commit keeps them by adding the touched addresses' contributions after
-- it and taking out those from before it (queries/commit/domain_totals_out.sql, domain_totals_in.sql).
-- scope: a list of recipient addresses (their contributions only), or null for every address.
-- materialised: incremental table (scope varchar[]), ordered by portal_id
select
    portal_id,
    recipient_domain,
    count(*) as addresses,
    cast(sum(sends) as bigint) as sends,
    cast(sum(hard_bounces) as bigint) as hard_bounces,
    cast(sum(refusals) as bigint) as refusals
from fct_address_facts
where scope is null or (
    recipient_key in (select address_key(r) from (select unnest(scope) as r))
    and recipient in (select unnest(scope))
)
group by portal_id, recipient_domain
