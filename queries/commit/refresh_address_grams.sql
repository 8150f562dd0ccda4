-- fct_address_grams after a load (after refresh_address_facts.sql): the trigram rows of each address
-- in the variable touched_recipients that the table does not hold yet. The table holds every address of
-- fct_address_facts and dir_users, and an address's trigrams never change: an address is new to it when
-- the address facts did not hold it before this load (the variable recipients_known, set by
-- refresh_address_facts.sql) and the directory does not list it. (Looking for the addresses' own
-- trigrams instead would scan most of the table: an IN list of trigrams skips no row group.)
set variable unindexed_recipients = (
    select coalesce(list(recipient), []::varchar[])
    from (select unnest(getvariable('touched_recipients')) as recipient)
    where not list_contains(getvariable('recipients_known'), recipient)
        and recipient not in (
            select email
            from dir_users
            where list_contains(getvariable('touched_recipients'), email)
        )
);

-- By trigram, as the search reads them.
insert into fct_address_grams by name
select * from fct_address_grams_for(getvariable('unindexed_recipients'))
order by gram;
