-- Staging: quarantine what cannot become a fact -- records refused while unwrapping, and records
-- whose fields say they are unusable (`stg_ses_records.defect`) -- and take the latter out of the
-- raw records the facts are built from.
insert into _quarantine
select load_id, source, object_key, record_index, byte_offset, problem, excerpt
from staged_records
where problem is not null;

insert into _quarantine
select
    s.load_id,
    s.source,
    s.object_key,
    s.record_index,
    r.byte_offset,
    s.defect,
    r.excerpt
from stg_ses_records as s
inner join staged_records as r using (source, object_key, record_index)
where s.defect is not null;

update staged_records as raw
set problem = s.defect
from stg_ses_records as s
where s.defect is not null
    and s.source = raw.source
    and s.object_key = raw.object_key
    and s.record_index = raw.record_index;


insert into _quarantine
select $load_id, source, object_key, record_index, null, 'bounce log entry without any date or time',
    left(recipient || ' ' || coalesce(diagnostic, ''), 200)
from staged_log_bounces
where coalesce(sent_at, event_at) is null;
