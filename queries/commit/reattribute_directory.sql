-- After a directory reload: events that only the directory could attribute are attributed again,
-- so a learner moved between portals, or newly listed, is counted where the directory now says.
update fct_recipient_events as f
set
    portal_id = d.portal_id,
    upload_batch_id = d.upload_batch_id,
    attribution = case when d.portal_id is null then null else 'directory' end
from (
    select e.recipient, u.portal_id, u.upload_batch_id
    from (
        select distinct recipient from fct_recipient_events
        where attribution is null or attribution = 'directory'
    ) as e
    left join stg_directory_addresses as u using (recipient)
) as d
where f.recipient = d.recipient
    and (f.attribution is null or f.attribution = 'directory');
