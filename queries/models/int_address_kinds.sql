-- grain: one row per distinct address: of the list in scope (the pre-send check's, lower-cased), or,
-- with a null scope, every recipient address loaded (fct_recipient_events). domain (after the last '@', null
-- without one); placeholder / placeholder_subject and role_account / role_subject by the rules in
-- queries/macros.sql, the same rules that name mart_portal_causes' placeholder and role causes.
-- materialised: scoped view (scope varchar[])
with addresses as (
    select distinct recipient as address
    from fct_recipient_events
    where scope is null and recipient is not null
    union
    select distinct unnest(scope) as address
),

split as (
    select
        address,
        case when contains(address, '@') then regexp_extract(address, '@([^@]*)$', 1) end as domain
    from addresses
),

final as (
    select
        address,
        domain,
        placeholder_subject(address, domain) as placeholder_subject,
        role_subject(address, domain) as role_subject,
        placeholder_subject(address, domain) is not null as placeholder,
        role_subject(address, domain) is not null as role_account
    from split
)

select * from final
