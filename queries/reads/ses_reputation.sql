-- SES's own figures beside ours (the Overview): the latest recorded datapoint of each reputation metric
-- (Reputation.BounceRate, Reputation.ComplaintRate; fractions, 0.02 = 2 %), when SES measured it,
-- when we fetched it, and from which region. No rows: nothing was ever fetched.
with ranked as (
    select
        metric,
        value,
        measured_at,
        fetched_at,
        region,
        row_number() over (partition by metric order by measured_at desc, fetched_at desc) as recency
    from _ses_reputation
),

final as (
    select metric, value, measured_at, fetched_at, region
    from ranked
    where recency = 1
)

select * from final
order by metric
