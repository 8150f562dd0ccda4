-- What the whole account (any portal, any time) knows of each address in $addresses (lower-cased
-- by the caller): on an SES suppression list, and how often it was sent to.
select
    recipient as address,
    bool_or(suppressed) as suppressed,
    cast(sum(sends) as bigint) as sends
from fct_address_facts
-- A constant list: the facts' index by recipient finds its rows.
where list_contains(cast($addresses as varchar[]), recipient)
group by recipient
