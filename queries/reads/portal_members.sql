-- The portal ids a read about $portal_id covers: the portal alone, or with every portal below it when
-- $rollup (the portal_members macro); null for $portal_id null (the whole account).
select portal_members(cast($portal_id as varchar), cast($rollup as boolean)) as members
