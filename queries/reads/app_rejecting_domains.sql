-- Recipient domains refusing our mail for its content or by policy (cause domain_rejecting_content of
-- queries/models/mart_portal_causes.sql), per portal, for the portals in $portals (from
-- reads.members; null: the whole account): refusals, sends, refusal rate, an example diagnostic.
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
from mart_portal_causes_for(cast($portals as varchar[]))
where cause = 'domain_rejecting_content'
order by refusals desc, domain, portal_id
