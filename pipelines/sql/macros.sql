-- The policy's verdict for one window, in one place for every query that judges a portal:
-- too few sends are not judged; a cutoff beats a warning; hard bounces and complaints both count.
create or replace macro window_status(sent, hard_rate, complaint_rate, min_sent, warning, cutoff,
                                      complaint_warning, complaint_cutoff) as
    case
        when sent < min_sent then 'insufficient_volume'
        when hard_rate >= cutoff or complaint_rate >= complaint_cutoff then 'exceeded'
        when hard_rate >= warning or complaint_rate >= complaint_warning then 'approaching'
        else 'ok'
    end;

-- The portals a read about one portal covers: `root` alone, or with every portal below it when
-- `with_subportals`; null when `root` is null (a read about the whole account). An unknown portal
-- covers none, never all.
create or replace macro portal_members(root, with_subportals) as (
    case when root is not null then (
        select coalesce(list(t.portal_id order by t.portal_id), []::varchar[])
        from int_portal_tree as t
        where t.root_portal_id = root and (with_subportals or t.depth = 0)
    ) end
);
