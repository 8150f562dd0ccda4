-- Recipient domains refusing our mail for its content or by policy (queries/scoped/mart_portal_causes_for.sql, cause
-- domain_rejecting_content), per portal, for the account ($portal_id null) or one portal (with the
-- portals below it when $rollup): refusals, sends, refusal rate, an example diagnostic.
select
    subject as domain,
    portal_id,
    evidence as refusals,
    sends,
    rate as refusal_rate,
    example,
    example_detail as diagnostic,
    first_seen,
    last_seen
from mart_portal_causes_for(portal_members(cast($portal_id as varchar), cast($rollup as boolean)))
where cause = 'domain_rejecting_content'
order by refusals desc, domain, portal_id
