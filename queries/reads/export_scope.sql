-- The portals an export covers: each id in $portals, known when the directory or some event names it,
-- and, when $with_subportals, every portal below a requested one at any depth (dim_portal_tree).
-- pipelines/reports/export.py refuses an unknown id rather than writing an empty file for a mistyped one.
with asked as (
    select distinct unnest(cast($portals as varchar[])) as portal_id
),

known as (
    select portal_id from dim_portals
),

final as (
    select
        a.portal_id,
        true as asked,
        a.portal_id in (select portal_id from known) as known
    from asked as a
    union all
    select
        t.portal_id,
        false as asked,
        true as known
    from dim_portal_tree as t
    where cast($with_subportals as boolean)
        and t.depth > 0
        and list_contains(cast($portals as varchar[]), t.root_portal_id)
)

select * from final
order by not asked, portal_id
