-- Before the address facts of the addresses in the variable touched_addresses (touched_addresses.sql)
-- are replaced (a load) or removed (an erasure): their contributions to fct_portal_domains, to take
-- out. domain_totals_in.sql adds their new ones and applies the difference.
create or replace temp table domain_changes as
select
    portal_id, recipient_domain, -addresses as addresses, -sends as sends, -hard_bounces as hard_bounces,
    -refusals as refusals
from fct_portal_domains_for(getvariable('touched_addresses'));
