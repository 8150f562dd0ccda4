-- Control messages read and set aside per load, newest first: SNS subscription and unsubscription
-- confirmations, SES's topic validation test, SES's feedback-topic notice. Not problems, so not in
-- the quarantine; this says they arrived. Only loads that had some. The manifest's `skipped` column
-- is read through the row (to_json) so a database no refresh has upgraded yet shows nothing rather
-- than failing.
with manifest as (
    select
        o.load_id,
        cast(to_json(o) ->> 'skipped' as bigint) as skipped
    from _ingest_objects as o
)

select
    load_id,
    count(*) filter (where skipped > 0) as objects,
    cast(sum(skipped) as bigint) as skipped
from manifest
group by load_id
having sum(skipped) > 0
order by load_id desc
