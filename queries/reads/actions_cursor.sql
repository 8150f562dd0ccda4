-- The actions feed's next cursor (pipelines/reports/actions.py): one row, the commit time (epoch
-- microseconds) of the newest committed load, 0 when none has. Every action the feed lists is dated by
-- a commit at or before it: an address's by its trigger bounce's load (_loads.finished_at), a portal's
-- by its alert's recorded_at, which is the same transaction's now(). A time, not a load id: a rebuild
-- numbers loads from 1 again, while commit times keep growing.
select coalesce(max(epoch_us(finished_at)), 0) as committed_us
from _loads
