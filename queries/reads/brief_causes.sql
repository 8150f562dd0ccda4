-- The likely causes of the bounces of the portals in $portals (one portal, from reads.members) with
-- their evidence (queries/models/mart_portal_causes.sql), strongest first.
select
    cause,
    subject,
    evidence,
    evidence_unit,
    addresses,
    bounced_addresses,
    sends,
    rate,
    baseline_rate,
    example,
    example_detail,
    suggestion,
    batch_filename,
    batch_uploaded_at,
    first_seen,
    last_seen
from mart_portal_causes_for(cast($portals as varchar[]))
order by cause, evidence desc, subject
