-- grain: one row per (gram, address): each distinct trigram (queries/macros.sql) of each address with
-- mail (fct_address_facts) or in the directory (dir_users). The address search's postings: a search
-- for a text reads the rows of the text's rarest trigram (queries/reads/lookup_addresses.sql), so it
-- tests a few thousand addresses instead of every one.
-- An address's trigrams never change and a load removes no address, so a commit adds the rows of the
-- addresses it is the first to bring (queries/commit/refresh_address_grams.sql); a directory load
-- rebuilds the table whole and an erasure deletes the address's rows.
-- scope: null for every address, or a list of addresses to index, each one the caller knows to be in
-- fct_address_facts or dir_users (the commit's touched addresses all have address facts): taken as
-- given, so indexing a load's new addresses reads neither table.
-- materialised: incremental table (scope varchar[]), ordered by gram
with addresses as (
    select recipient as address
    from fct_address_facts
    where scope is null
    union
    select email
    from dir_users
    where scope is null and email is not null
    union
    select unnest(scope)
),

grams as (
    select
        unnest(trigrams(address)) as gram,
        address
    from addresses
)

-- A trigram met twice in one address is one posting.
select distinct gram, address
from grams
