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
-- The key first: an integer test of every event, the address compared only where the key matches.
where recipient_key = address_key(lower(trim(cast($address as varchar))))
    and recipient = lower(trim(cast($address as varchar)))
order by coalesce(event_at, sent_at), sent_at, event_type, event_key
