-- Likely causes of one portal's bounces (mart_portal_causes), with the portals below it when $rollup,
-- strongest evidence first.
select *
from mart_portal_causes
where portal_id = cast($portal_id as varchar)
    or (cast($rollup as boolean) and portal_id in (
        select t.portal_id from int_portal_tree as t where t.root_portal_id = cast($portal_id as varchar)
    ))
order by
    case cause
        when 'bad_upload_batch' then 0 when 'domain_rejecting_content' then 1 when 'typo_domain' then 2
        when 'placeholder_address' then 3 when 'stale_accounts' then 4 else 5
    end,
    evidence desc, portal_id, subject
