-- The policy's verdict on windows computed outside the database (a projected send, a forecast step):
-- the registered frame `windows` holds one row per (grp, window_name) with sent, hard_bounced,
-- complaints (null: judge the hard-bounce levels only), min_sent, min_hard_bounces, min_complaints
-- (null: no minimum of events), warning, cutoff, complaint_warning and complaint_cutoff. Each row comes back with its status (window_status, as every status read
-- judges), severity, and deciding: true for the window that decides its grp (window_order).
with judged as (
    select
        *,
        window_status(
            sent, hard_bounced, complaints, min_sent, min_hard_bounces, min_complaints, warning, cutoff,
            complaint_warning, complaint_cutoff
        ) as status
    from windows
),

final as (
    select
        *,
        status_severity(status) as severity,
        row_number() over (partition by grp order by window_order(status, sent, window_name)) = 1
            as deciding
    from judged
)

select * from final
order by grp, window_name
