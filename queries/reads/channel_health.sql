-- Every alert channel the database has seen, one row each: kind, since when, its last delivery and
-- last failure, failures of the last 24 hours before $now, deliveries waiting for a retry and those
-- given up on (undeliverable).
with deliveries as (
    select
        channel,
        max(delivered_at) as last_delivered_at,
        max(last_attempt_at) filter (where delivered_at is null) as last_failed_at,
        arg_max(last_error, last_attempt_at) filter (where delivered_at is null) as last_error,
        count(*) filter (where delivered_at is not null) as delivered,
        count(*) filter (where next_attempt_at is not null) as retrying,
        count(*) filter (where gave_up_at is not null) as undeliverable,
        count(*) filter (
            where delivered_at is null and last_attempt_at > $now::timestamptz - interval 1 day
        ) as failing_last_day
    from _alert_deliveries
    where skipped_at is null
    group by channel
),

final as (
    select
        c.channel,
        c.kind,
        c.added_at,
        d.last_delivered_at,
        d.last_failed_at,
        d.last_error,
        coalesce(d.delivered, 0) as delivered,
        coalesce(d.retrying, 0) as retrying,
        coalesce(d.undeliverable, 0) as undeliverable,
        coalesce(d.failing_last_day, 0) as failing_last_day
    from _alert_channels as c
    left join deliveries as d on d.channel = c.channel
)

select * from final
order by undeliverable desc, retrying desc, channel
