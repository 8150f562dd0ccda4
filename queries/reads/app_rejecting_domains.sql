-- Recipient domains refusing our mail for its content or by policy (mart_portal_causes cause
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
from mart_portal_causes
where cause = 'domain_rejecting_content'
    and (
        cast($portal_id as varchar) is null
        or portal_id = cast($portal_id as varchar)
        or (cast($rollup as boolean) and portal_id in (
            select t.portal_id from int_portal_tree as t where t.root_portal_id = cast($portal_id as varchar)
        ))
    )
order by refusals desc, domain, portal_id
