-- fct_address_facts after a load: every portal's row of every address in the variable
-- touched_recipients (set by refresh_aggregates.sql) recomputed, between domain_totals_out.sql and
-- domain_totals_in.sql, which keep fct_portal_domains' sums of these rows.
set variable touched_addresses = {
    'recipients': getvariable('touched_recipients'),
    'recipient_keys': list_transform(getvariable('touched_recipients'), lambda r: address_key(r)),
    'domains': (
        select coalesce(list(distinct recipient_domain), []::varchar[])
        from stg.staged_facts
        where recipient_domain is not null
    )
};

-- Which of them the address facts held before this load: refresh_address_grams.sql indexes the others.
set variable recipients_known = (
    select coalesce(list(distinct recipient), []::varchar[])
    from fct_address_facts
    where recipient_key in (select unnest(getvariable('touched_addresses').recipient_keys))
        and recipient in (select unnest(getvariable('touched_addresses').recipients))
);

delete from fct_address_facts
where recipient_key in (select unnest(getvariable('touched_addresses').recipient_keys))
    and recipient in (select unnest(getvariable('touched_addresses').recipients));

-- By portal: the pages read one portal's addresses.
insert into fct_address_facts by name
select * from fct_address_facts_for(getvariable('touched_addresses'))
order by portal_id;
