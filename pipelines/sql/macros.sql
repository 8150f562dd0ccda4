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
