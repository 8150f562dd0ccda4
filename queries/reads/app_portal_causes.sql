-- Likely causes of one portal's bounces (queries/scoped/mart_portal_causes_for.sql), with the portals below it when $rollup,
-- strongest evidence first.
select *
from mart_portal_causes_for(portal_members(cast($portal_id as varchar), cast($rollup as boolean)))
order by
    case cause
        when 'bad_upload_batch' then 0 when 'domain_rejecting_content' then 1 when 'typo_domain' then 2
        when 'placeholder_address' then 3 when 'stale_accounts' then 4 else 5
    end,
    evidence desc, portal_id, subject
