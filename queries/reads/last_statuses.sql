-- Every portal's status at the last refresh that judged it, per scope (alone / rollup).
select portal_id, scope, status as from_status
from _portal_status
