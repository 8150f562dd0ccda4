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
        from dim_portal_tree as t
        where t.root_portal_id = root and (with_subportals or t.depth = 0)
    ) end
);

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
