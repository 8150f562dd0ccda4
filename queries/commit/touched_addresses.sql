-- The addresses in the variable touched_recipients (a load's, or an erased one), as the scope of
-- fct_address_facts and fct_portal_domains takes them: touched_addresses = struct(recipients, shared).
-- An address whose key (address_key) no other address the facts hold has is found by the key alone;
-- where two share a key, both are recomputed and listed in `shared` too, told apart by the address.
-- recipients_known: the touched addresses the facts held before this commit (refresh_address_grams.sql
-- indexes the others).
create or replace temp table touched_keys as
with touched as (
    select distinct recipient, address_key(recipient) as recipient_key
    from (select unnest(getvariable('touched_recipients')) as recipient)
),

held as (
    select distinct recipient_key, recipient
    from fct_address_facts
    where recipient_key in (select recipient_key from touched)
),

addresses as (
    select recipient_key, recipient, false as held from touched
    union all
    select recipient_key, recipient, true as held from held
)

select
    recipient,
    bool_or(held) as held,
    count(*) over (partition by recipient_key) > 1 as shared
from addresses
group by recipient_key, recipient;

set variable touched_addresses = (
    select {
        'recipients': coalesce(list(recipient), []::varchar[]),
        'shared': coalesce(list(recipient) filter (where shared), []::varchar[])
    }
    from touched_keys
);

set variable recipients_known = (
    select coalesce(list(recipient) filter (where held), []::varchar[]) from touched_keys
);

drop table touched_keys;
