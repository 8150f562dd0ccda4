-- Addresses containing the search text $q (case-insensitive, taken literally: no wildcards), from the
-- mail and the directory, at most 50, in order. Both are stored lower-cased (the loader and the
-- directory load lower-case every address), so a plain substring test of the lower-cased text is the
-- case-insensitive search, without LIKE's cost.
-- A text of three characters or more is looked up by trigram (fct_address_grams): only the addresses
-- holding its rarest trigram are tested, a few row groups of a table kept in trigram order, however
-- many addresses there are. A shorter text has no trigram: every address is tested.
with needle as (
    select lower(trim(cast($q as varchar))) as text
),

needle_grams as (
    select distinct unnest(trigrams(text)) as gram
    from needle
),

gram_postings as (
    select n.gram, count(p.gram) as postings
    from needle_grams as n
    left join fct_address_grams as p on p.gram = n.gram
    group by n.gram
),

-- A trigram no address holds has no postings: it is the rarest, and nothing matches.
rarest as (
    select gram
    from gram_postings
    order by postings, gram
    limit 1
),

by_trigram as (
    select p.address
    from fct_address_grams as p
    where p.gram = (select gram from rarest)
        and contains(p.address, (select text from needle))
),

by_scan as (
    select f.recipient as address
    from fct_address_facts as f
    where length((select text from needle)) between 1 and 2
        and contains(f.recipient, (select text from needle))
    union
    select u.email
    from dir_users as u
    where length((select text from needle)) between 1 and 2
        and contains(u.email, (select text from needle))
),

final as (
    select address from by_trigram
    union
    select address from by_scan
)

select address from final
order by address
limit 50
