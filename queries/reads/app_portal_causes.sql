-- Likely causes of the bounces of the portals in $portals (a list, from reads.members: one portal or a
-- roll-up; queries/models/mart_portal_causes.sql), strongest evidence first.
select *
from mart_portal_causes_for(cast($portals as varchar[]))
order by
    case cause
        when 'bad_upload_batch' then 0 when 'domain_rejecting_content' then 1 when 'typo_domain' then 2
        when 'placeholder_address' then 3 when 'stale_accounts' then 4 else 5
    end,
    evidence desc, portal_id, subject
