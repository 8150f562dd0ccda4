-- The send days of the address's outcomes and events, read before they are deleted: the send-day
-- tables are then recomputed for them (catalog.refresh_send_days), so their counts hold no trace of it.
set variable touched_days = (
    select coalesce(list(distinct sent_date) filter (where sent_date is not null), []::date[])
    from (
        select sent_date from fct_recipient_outcomes where lower(recipient) = $address
        union all
        select sent_date from fct_recipient_events where lower(recipient) = $address
    )
);
