-- SES's reputation figures from one CloudWatch fetch (the frame `fetched`: metric, value, measured_at,
-- region, fetched_at), in their own short transaction (`python -m pipelines reputation`, or a refresh
-- with --ses-reputation). Each datapoint once: a fetch that finds the one an earlier fetch recorded adds
-- nothing, so fetching twice is fetching once.
insert into _ses_reputation (fetched_at, region, metric, value, measured_at)
select f.fetched_at, f.region, f.metric, f.value, f.measured_at
from fetched as f
where not exists (
    select 1
    from _ses_reputation as r
    where r.metric = f.metric
      and r.measured_at = f.measured_at
      and r.region is not distinct from f.region
);
