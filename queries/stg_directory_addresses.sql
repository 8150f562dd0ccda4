-- grain: one row per learner address the directory places in exactly one portal; see
-- queries/scoped/stg_directory_addresses_for.sql.
select * from stg_directory_addresses_for(null)
