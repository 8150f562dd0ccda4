-- After the address facts of the addresses in the variable touched_addresses (touched_addresses.sql)
-- were replaced or removed: their new contributions added to the old ones taken out
-- (domain_totals_out.sql), and each changed (portal, domain) row of fct_portal_domains rewritten as its
-- old sums plus the change; a domain left with no address in a portal has no row.
insert into domain_changes
select portal_id, recipient_domain, addresses, sends, hard_bounces, refusals
from fct_portal_domains_for(getvariable('touched_addresses'));

create or replace temp table domain_keys as
select distinct portal_id, recipient_domain from domain_changes;

create or replace temp table domain_totals as
select
    portal_id,
    recipient_domain,
    cast(sum(addresses) as bigint) as addresses,
    cast(sum(sends) as bigint) as sends,
    cast(sum(hard_bounces) as bigint) as hard_bounces,
    cast(sum(refusals) as bigint) as refusals
from (
    select t.portal_id, t.recipient_domain, t.addresses, t.sends, t.hard_bounces, t.refusals
    from fct_portal_domains as t
    semi join domain_keys as k
        on k.portal_id is not distinct from t.portal_id
        and k.recipient_domain is not distinct from t.recipient_domain
    union all
    select portal_id, recipient_domain, addresses, sends, hard_bounces, refusals
    from domain_changes
)
group by portal_id, recipient_domain
having sum(addresses) > 0;

delete from fct_portal_domains as t
using domain_keys as k
where k.portal_id is not distinct from t.portal_id
    and k.recipient_domain is not distinct from t.recipient_domain;

insert into fct_portal_domains by name
select * from domain_totals
order by portal_id;

drop table domain_changes;
drop table domain_keys;
drop table domain_totals;
