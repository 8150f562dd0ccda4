-- One delivery's state: the row of _alert_deliveries for ($alert_id, $channel), or none (never
-- tried). The daily digest asks it whether today's digest is due.
select *
from _alert_deliveries
where alert_id = $alert_id and channel = $channel
