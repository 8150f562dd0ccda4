-- A rate the policy may judge: events / sent when the window has at least min_sent sends and the
-- metric at least min_events events of its own (a null minimum: none), else null. A null rate
-- reaches no level, so a metric with too few events can flag nothing (the other one still can).
create or replace macro judged_rate(events, sent, min_sent, min_events) as
    case when sent >= min_sent and events >= coalesce(min_events, 0) then events / nullif(sent, 0) end;

-- The policy's verdict for one window, in one place for every query that judges a portal (and for
-- the projections, which judge projected windows with it: queries/reads/judged_windows.sql):
-- too few sends are not judged (insufficient_volume); a rate is judged only on enough events of its
-- own (judged_rate); a cutoff beats a warning; hard bounces and complaints both count. A window with
-- enough sends but too few events of either kind is ok: judged, with nothing to flag.
create or replace macro window_status(sent, hard_bounced, complaints, min_sent, min_hard_bounces,
                                      min_complaints, warning, cutoff, complaint_warning,
                                      complaint_cutoff) as
    case
        when sent < min_sent then 'insufficient_volume'
        when judged_rate(hard_bounced, sent, min_sent, min_hard_bounces) >= cutoff
            or judged_rate(complaints, sent, min_sent, min_complaints) >= complaint_cutoff
            then 'exceeded'
        when judged_rate(hard_bounced, sent, min_sent, min_hard_bounces) >= warning
            or judged_rate(complaints, sent, min_sent, min_complaints) >= complaint_warning
            then 'approaching'
        else 'ok'
    end;

-- How bad a status is, worst highest. A portal whose mail is disabled ranks worst of all: it is the
-- one that needs the restore call. Every ranking of portals or windows sorts by this.
create or replace macro status_severity(status) as
    case status
        when 'disabled' then 4
        when 'exceeded' then 3
        when 'approaching' then 2
        when 'ok' then 1
        when 'insufficient_volume' then 0
    end;

-- The order in which a portal's windows decide its status: the worst window first, then the one
-- with more sends, then by name. `order by window_order(...)` and take the first.
create or replace macro window_order(status, sent, window_name) as
    {'severity': -status_severity(status), 'sent': -sent, 'name': window_name};

-- A rate as a percentage rounded to 0.01, e.g. 0.15352 -> '15.35%'.
create or replace macro percent_text(rate) as cast(round(rate * 100, 2) as varchar) || '%';

-- The level a status was judged against, in words (what an analyst asks first). For an ok window
-- whose rate reached a warning level on too few events to judge, it says so: that decided.
-- (nullif: a branch that shows a rate has sends; said for engines that compute it before the branch.)
create or replace macro status_reason(status, sent, hard_bounced, complaints, min_sent,
                                      min_hard_bounces, min_complaints, warning, cutoff,
                                      complaint_warning, complaint_cutoff) as
    case
        when status = 'disabled' then 'mail switched off in the directory'
        when status = 'insufficient_volume' then 'too few sends to judge'
        when judged_rate(hard_bounced, sent, min_sent, min_hard_bounces) >= cutoff
            then 'hard-bounce rate ' || percent_text(hard_bounced / nullif(sent, 0)) || ' >= cutoff '
                || percent_text(cutoff)
        when judged_rate(complaints, sent, min_sent, min_complaints) >= complaint_cutoff
            then 'complaint rate ' || percent_text(complaints / nullif(sent, 0)) || ' >= cutoff '
                || percent_text(complaint_cutoff)
        when judged_rate(hard_bounced, sent, min_sent, min_hard_bounces) >= warning
            then 'hard-bounce rate ' || percent_text(hard_bounced / nullif(sent, 0)) || ' >= warning '
                || percent_text(warning)
        when judged_rate(complaints, sent, min_sent, min_complaints) >= complaint_warning
            then 'complaint rate ' || percent_text(complaints / nullif(sent, 0)) || ' >= warning '
                || percent_text(complaint_warning)
        when hard_bounced / nullif(sent, 0) >= warning
            then 'too few hard bounces to judge (' || cast(hard_bounced as varchar) || ' < '
                || cast(min_hard_bounces as varchar) || ')'
        when complaints / nullif(sent, 0) >= complaint_warning
            then 'too few complaints to judge (' || cast(complaints as varchar) || ' < '
                || cast(min_complaints as varchar) || ')'
        else 'below the warning levels'
    end;

-- SES's mailbox simulator: mail to it tests the sender, so SES leaves it out of every rate.
create or replace macro is_ses_simulator(domain) as coalesce(domain = 'simulator.amazonses.com', false);

-- The portals a read about one portal covers: `root` alone, or with every portal below it when
-- `with_subportals`; null when `root` is null (a read about the whole account). An unknown portal
-- covers none, never all.
create or replace macro portal_members(root, with_subportals) as (
    case when root is not null then (
        select coalesce(list(t.portal_id order by t.portal_id), []::varchar[])
        from dim_portal_tree as t
        where t.root_portal_id = root and (with_subportals or t.depth = 0)
    ) end
);

-- Whether a row of `portal_id` belongs to the portals a read covers: the list `portals` (from
-- portal_members / reads.members), or every portal when it is null (a read about the whole account).
create or replace macro in_portals(portal_id, portals) as
    (portals is null or list_contains(portals, portal_id));

-- An address's local part: before the last '@', without a +tag (jo+news@x -> jo). Without an '@',
-- the whole text.
create or replace macro address_local_part(address, domain) as
    split_part(left(address, length(address) - coalesce(length(domain) + 1, 0)), '+', 1);

-- Placeholder and test addresses, one rule for the causes (mart_portal_causes) and the pre-send check
-- (int_address_kinds): what names them, or null. A placeholder domain (reserved names of RFC 2606/6761,
-- obvious test domains, throwaway services) is named by the domain; otherwise a placeholder local part,
-- matched after dropping trailing digits (test1, user42), is named as 'test@'.
create or replace macro placeholder_subject(address, domain) as
    case
        when list_contains([
            'example.com', 'example.org', 'example.net', 'example.edu', 'test.com', 'localhost',
            'invalid', 'example', 'test', 'local', 'domain.com', 'yourdomain.com', 'mydomain.com',
            'yourcompany.com', 'company.com', 'email.example', 'noemail.com', 'no-email.com',
            'none.com', 'nowhere.com', 'asdf.com', 'qwerty.com', 'fake.com', 'mailinator.com',
            'guerrillamail.com', 'sharklasers.com', '10minutemail.com', 'yopmail.com', 'trashmail.com',
            'tempmail.com', 'temp-mail.org', 'throwawaymail.com', 'dispostable.com', 'maildrop.cc',
            'fakeinbox.com', 'getnada.com', 'mailnesia.com'
            ], domain)
            or domain like '%.example' or domain like '%.test' or domain like '%.invalid'
            or domain like '%.localhost' or domain like 'test.%' or domain like 'example.%'
            then domain
        when list_contains([
            'test', 'testing', 'tester', 'testuser', 'asdf', 'qwerty', 'noreply', 'no-reply',
            'donotreply', 'do-not-reply', 'user', 'dummy', 'fake', 'sample', 'example', 'foo', 'bar',
            'foobar', 'null', 'none', 'nobody', 'noemail', 'xxx', 'abc'
            ], rtrim(address_local_part(address, domain), '0123456789'))
            then rtrim(address_local_part(address, domain), '0123456789') || '@'
    end;

-- Role accounts (a mailbox for a function, read by nobody in particular), named as 'info@', or null.
create or replace macro role_subject(address, domain) as
    case when list_contains([
            'admin', 'administrator', 'info', 'support', 'sales', 'office', 'hr', 'contact', 'noreply',
            'no-reply', 'donotreply', 'postmaster', 'webmaster', 'hostmaster', 'abuse', 'billing',
            'accounts', 'accounting', 'finance', 'help', 'helpdesk', 'enquiries', 'inquiries',
            'marketing', 'team', 'hello', 'mail', 'reception', 'jobs', 'careers', 'security',
            'privacy', 'legal', 'service', 'newsletter', 'training', 'it', 'root'
        ], address_local_part(address, domain))
        then address_local_part(address, domain) || '@'
    end;

-- A message's bounce says the address itself is dead: classified hard for the address, or an SES
-- hard bounce loaded before classification (no reason); a suppression-list bounce is not.
create or replace macro is_dead_bounce(address_hard, hard_bounced, bounce_reason, suppressed) as
    address_hard or (hard_bounced and bounce_reason is null and not suppressed);

-- How many soft bounces in a row (no delivery between) make an address to suppress: the policy's
-- [address] soft_bounces_before_suppress, set as a session variable by whoever reads the decision.
create or replace macro soft_bounces_before_suppress() as
    coalesce(cast(getvariable('soft_bounces_before_suppress') as integer), 3);

-- A row of the send days `days` (a date list; null: every day), as the send-day tables are scoped and
-- refreshed (catalog.refresh_send_days). The days' range first: a constant range the scan prunes row
-- groups by (the list alone is not).
create or replace macro on_send_days(sent_date, days) as
    days is null
    or (sent_date between list_min(days) and list_max(days) and list_contains(days, sent_date));

-- A message in the address's current run of soft bounces: soft-bounced, not delivered, bounced after
-- the address's last delivery (if any). Counted, they are its consecutive soft bounces.
create or replace macro in_soft_run(soft_bounced, delivered, bounced_at, last_delivery_at) as
    soft_bounced and not delivered and (last_delivery_at is null or bounced_at > last_delivery_at);

-- The key a rate by $dimension counts a (message, recipient) row under (queries/reads/rates.sql): a
-- portal, a recipient domain, an upload batch, a message type or a bounce reason, '(unattributed)' /
-- '(none)' where the row has none. (A roll-up's key is the root of each tree holding the portal:
-- dim_portal_tree, so that one needs the join, not this.)
create or replace macro rate_key(dimension, portal_id, recipient_domain, upload_batch_id, message_type,
        bounce_reason) as
    case dimension
        when 'account' then 'account'
        when 'portal' then coalesce(portal_id, '(unattributed)')
        when 'domain' then coalesce(recipient_domain, '(none)')
        when 'batch' then coalesce(upload_batch_id, '(none)')
        when 'message_type' then coalesce(message_type, '(none)')
        when 'reason' then coalesce(bounce_reason, '(none)')
    end;

-- The last microsecond of the UTC day `day` (a date): where a window judged at the end of that day
-- ends, windows being (start, end].
create or replace macro utc_day_end(day) as
    timezone('UTC', cast(day as timestamp) + interval 1 day - interval 1 microsecond);

-- An address as a number (63 bits of its MD5: stable across DuckDB releases, unlike hash(); a BIGINT,
-- which Spark has too), stored beside the address in the events and outcomes: finding a few
-- addresses' rows among millions compares integers instead of decompressing and comparing every
-- address. Two addresses with one key are told apart by the address (commit/touched_addresses.sql finds
-- them), so a collision costs only time.
create or replace macro address_key(address) as cast(md5_number_lower(address) >> 1 as bigint);

-- What follows an address's last @ (null for a text without one).
create or replace macro address_domain(address) as nullif(split_part(address, '@', -1), address);

-- The three-character pieces of a text, one per position (a text of under three characters has
-- none): the unit of the address search (fct_address_grams). Every address containing a text of three
-- characters or more holds each of the text's trigrams.
create or replace macro trigrams(text) as
    list_transform(range(1, length(text) - 1), lambda i: substring(text, i, 3));
