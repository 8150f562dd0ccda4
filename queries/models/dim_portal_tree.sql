-- grain: one row per (portal, portal in its subtree), itself included (depth 0), at any depth: rolls
-- a portal up with its sub-portals. A portal known only from its mail (not in the directory) is its
-- own one-node tree (dim_portals), so every scope -- alone or rolled up -- reads this one view. A cycle in the
-- directory stops at 20 levels instead of looping.
-- materialised: view
with recursive tree as (
    select
        portal_id as root_portal_id,
        portal_id,
        0 as depth
    from dim_portals
    union all
    select
        tree.root_portal_id,
        child.portal_id,
        tree.depth + 1 as depth
    from tree
    inner join dir_portals as child on child.parent_portal_id = tree.portal_id
    where tree.depth < 20
),

final as (
    select
        root_portal_id,
        portal_id,
        min(depth) as depth
    from tree
    group by root_portal_id, portal_id
)

select * from final
