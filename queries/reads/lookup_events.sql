-- The full event history of the address $address (exact, lower-cased), every portal, in time order.
select
    coalesce(event_at, sent_at) as at,
    event_type,
    portal_id,
    message_id,
    message_type,
    upload_batch_id,
    sent_at,
    bounce_type,
    bounce_subtype,
    reason,
    status_code,
    diagnostic,
    complaint_type,
    delay_type
from fct_recipient_events
where recipient = lower(trim(cast($address as varchar)))
order by coalesce(event_at, sent_at), sent_at, event_type, event_key
