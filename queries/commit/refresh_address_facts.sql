-- fct_address_facts after a load: every portal's row of every address in the variable
-- touched_addresses (touched_addresses.sql) recomputed, between domain_totals_out.sql and
-- domain_totals_in.sql, which keep fct_portal_domains' sums of these rows.
-- By key: every address the facts hold under one of these keys is in touched_addresses.
delete from fct_address_facts
where recipient_key in (
    select address_key(address)
    from (select unnest(getvariable('touched_addresses').recipients) as address)
);

-- By portal: the pages read one portal's addresses.
insert into fct_address_facts by name
select * from fct_address_facts_for(getvariable('touched_addresses'))
order by portal_id;
