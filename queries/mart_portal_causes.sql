-- grain: one row per (portal_id, cause, subject): a likely cause of a portal's bounces with its evidence;
-- see queries/scoped/mart_portal_causes_for.sql for every cause and column. Reads about some portals call
-- mart_portal_causes_for(list) instead, so only those portals' addresses are read.
select * from mart_portal_causes_for(null)
