-- Every portal the directory or any event names: id, name (null when only mail names it), parent.
select portal_id, name, parent_portal_id
from dim_portals
order by portal_id
