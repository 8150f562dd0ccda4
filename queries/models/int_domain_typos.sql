-- grain: one row per recipient domain seen in fct_recipient_events that is a likely typo of a major
-- mailbox provider: domain, suggestion (the provider's domain), distance (edit distance between them).
--
-- How a typo is decided (measured against the provider list below; an exact provider is never a typo):
-- 1. name typo: damerau_levenshtein(domain, provider) = 1 -- one insertion, deletion, substitution or
--    transposition of adjacent letters (optimal string alignment: gmial.com, hotmial.com, outlookk.com,
--    yaho.com, gmail.con, gmailcom). Only for providers whose name (before the first dot) has 5 or more
--    letters: around short names one edit lands on real domains (me.com -> mt.com, live.com -> hive.com,
--    web.de -> wen.de), so those get rule 2 only.
--    Not levenshtein <= 2: two edits reach the providers' own national domains (yahoo.com -> yahoo.ca,
--    hotmail.com -> hotmail.ca, live.com -> live.ca) and ordinary company names; one edit, with a
--    transposition counted as one, covers the typos seen in practice. Plain levenshtein would count a
--    transposition (gmial) as 2, so it is not used either.
-- 2. TLD typo: the provider's name with a top-level domain one edit away from its com / net
--    (aol.con, me.co, live.cm, msn.vom), or the bare name with no TLD at all (user@hotmail).
-- Known real neighbours (email.com, cloud.com, ...) are listed in not_typos and never flagged.
-- Where a domain is one edit from several providers, the more common provider (lower rank) wins.
-- Portability: Spark SQL has levenshtein but no Damerau variant; a port keeps this view as a small
-- UDF, the rest is plain SQL.
-- scope: a list of domains to judge (the pre-send check's), or null for every recipient domain loaded.
-- materialised: scoped view (scope varchar[])
with providers as (
    select * from (values
        ('gmail.com', 1), ('outlook.com', 2), ('hotmail.com', 3), ('yahoo.com', 4), ('icloud.com', 5),
        ('live.com', 6), ('aol.com', 7), ('googlemail.com', 8), ('msn.com', 9), ('ymail.com', 10),
        ('me.com', 11), ('mac.com', 12), ('mail.com', 13), ('gmx.com', 14), ('gmx.de', 15),
        ('gmx.net', 16), ('web.de', 17), ('protonmail.com', 18), ('proton.me', 19), ('yandex.ru', 20),
        ('comcast.net', 21), ('btinternet.com', 22), ('orange.fr', 23), ('free.fr', 24),
        ('rocketmail.com', 25), ('verizon.net', 26), ('att.net', 27), ('sbcglobal.net', 28),
        ('t-online.de', 29), ('laposte.net', 30), ('wanadoo.fr', 31), ('libero.it', 32),
        ('mail.ru', 33), ('zoho.com', 34), ('fastmail.com', 35)
    ) as p (provider, provider_rank)
),

-- The providers' own national and sister domains: real, so never a typo of the list above.
not_typos as (
    select * from (values
        ('email.com'), ('cloud.com'), ('gmx.at'), ('gmx.ch'), ('gmx.fr'), ('gmx.es'), ('gmx.us'),
        ('hotmail.co.uk'), ('hotmail.fr'), ('hotmail.de'), ('hotmail.it'), ('hotmail.es'), ('hotmail.ca'),
        ('live.co.uk'), ('live.fr'), ('live.de'), ('live.ca'), ('live.nl'), ('outlook.de'), ('outlook.fr'),
        ('outlook.es'), ('outlook.it'), ('yahoo.co.uk'), ('yahoo.fr'), ('yahoo.de'), ('yahoo.es'),
        ('yahoo.it'), ('yahoo.ca'), ('yahoo.com.au'), ('yandex.com'), ('yandex.ua'), ('yandex.by'),
        ('yandex.kz'), ('protonmail.ch'), ('pm.me'), ('mail.de'), ('web.com'), ('free.com')
    ) as n (domain)
),

targets as (
    select
        provider,
        provider_rank,
        split_part(provider, '.', 1) as provider_label,
        split_part(provider, '.', -1) as provider_tld,
        left(provider, length(provider) - length(split_part(provider, '.', -1)) - 1) as provider_name
    from providers
),

domains as (
    select distinct recipient_domain as domain
    from fct_recipient_events
    where scope is null and recipient_domain is not null
    union
    select distinct unnest(scope) as domain
),

split as (
    select
        domain,
        case when position('.' in domain) > 0 then split_part(domain, '.', -1) end as tld,
        case
            when position('.' in domain) > 0
                then left(domain, length(domain) - length(split_part(domain, '.', -1)) - 1)
            else domain
        end as name
    from domains
    where domain not in (select provider from providers)
        and domain not in (select domain from not_typos)
),

name_typos as (
    select
        s.domain,
        t.provider,
        t.provider_rank,
        damerau_levenshtein(s.domain, t.provider) as distance
    from split as s
    inner join targets as t
        on length(t.provider_label) >= 5
        and abs(length(s.domain) - length(t.provider)) <= 1
    where damerau_levenshtein(s.domain, t.provider) = 1
),

tld_typos as (
    select
        s.domain,
        t.provider,
        t.provider_rank,
        damerau_levenshtein(s.domain, t.provider) as distance
    from split as s
    inner join targets as t
        on s.name = t.provider_name
        and t.provider_tld in ('com', 'net')
    where s.tld is null
        or (s.tld <> t.provider_tld and damerau_levenshtein(s.tld, t.provider_tld) = 1)
),

candidates as (
    select * from name_typos
    union all
    select * from tld_typos
),

ranked as (
    select
        domain,
        provider,
        distance,
        row_number() over (partition by domain order by distance, provider_rank) as pick
    from candidates
),

final as (
    select
        domain,
        provider as suggestion,
        distance
    from ranked
    where pick = 1
)

select * from final
