-- A directory load replaces the live directory with the staged CSVs (staging attached as stg), in the
-- commit's transaction: ids and emails trimmed, emails and statuses lower-cased, blanks as nulls, a
-- portal's mail enabled unless its email_enabled says otherwise ($truthy: the words meaning yes).
delete from dir_portals;

insert into dir_portals
select
    trim(portal_id),
    name,
    nullif(trim(parent_portal_id), ''),
    case
        when nullif(trim(email_enabled), '') is null then true
        else list_contains(cast($truthy as varchar[]), lower(trim(email_enabled)))
    end
from stg.staged_dir_portals
where nullif(trim(portal_id), '') is not null
qualify row_number() over (partition by trim(portal_id)) = 1;

delete from dir_users;

insert into dir_users
select
    trim(user_id),
    trim(portal_id),
    name,
    lower(trim(email)),
    lower(trim(status)),
    nullif(trim(upload_batch_id), ''),
    try_cast(created_at as timestamptz)
from stg.staged_dir_users
-- In email order: an address's directory rows are then found by the zone maps of one row group
-- (queries/reads/lookup_portals.sql), not by comparing every row.
order by lower(trim(email));

delete from dir_batches;

insert into dir_batches
select
    trim(batch_id),
    trim(portal_id),
    try_cast(uploaded_at as timestamptz),
    filename,
    try_cast("rows" as bigint)
from stg.staged_dir_batches;

insert into _directory_loads
select
    $load_id,
    now(),
    (select count(*) from dir_portals),
    (select count(*) from dir_users),
    (select count(*) from dir_batches);
