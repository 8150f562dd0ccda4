-- What the whole account (any portal, any time) knows of each address in $addresses (lower-cased
-- by the caller): on an SES suppression list, and how often it was sent to.
select
    recipient as address,
    bool_or(suppressed) as suppressed,
    cast(sum(sends) as bigint) as sends
from fct_address_facts
-- By key first: an integer test of every row, the address compared only where a key matches.
where recipient_key in (select address_key(a) from (select unnest(cast($addresses as varchar[])) as a))
    and recipient in (select unnest(cast($addresses as varchar[])))
group by recipient
