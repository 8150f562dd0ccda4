-- fct_address_grams after a load (after refresh_address_facts.sql): the trigram rows of each address
-- in the variable touched_recipients that the table does not hold yet. An address's trigrams never
-- change, so an address already indexed keeps its rows; one is indexed when it has the row of its
-- first trigram (its rows go in together), found among the few row groups of those trigrams.
set variable unindexed_recipients = (
    select coalesce(list(recipient), []::varchar[])
    from (select unnest(getvariable('touched_recipients')) as recipient)
    where recipient not in (
        select address
        from fct_address_grams
        where gram in (select substring(unnest(getvariable('touched_recipients')), 1, 3))
            and address in (select unnest(getvariable('touched_recipients')))
    )
);

-- By trigram, as the search reads them.
insert into fct_address_grams by name
select * from fct_address_grams_for(getvariable('unindexed_recipients'))
order by gram;
