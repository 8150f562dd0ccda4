-- The address decisions of the actions feed (pipelines/reports/actions.py): one row per (portal, address,
-- kind) the rules decide now, kind 'deactivate_learner' | 'suppress_address', with the bounce that made
-- it so (the trigger) and when the load carrying that bounce was committed. Attributed mail only.
-- The decision is mart_address_facts.recommended_action, the export's rule, written there once:
--   'deactivate' (one dead-address bounce, or an SES suppression list) -> deactivate_learner, only for
--       a learner the directory knows (user_id) and has not deactivated: an address outside the
--       directory has no account in the LMS to deactivate, and a deactivated one needs nothing more;
--   'suppress' (soft_bounces_before_suppress soft bounces in a row: the session variable the mart
--       reads, the policy's [address] value) -> suppress_address, for any address of the portal.
-- The mart's first-match order holds: a typo address is to be fixed, not deactivated; a refusal by a
-- domain that rejects our content asks for allow-listing, not suppression.
-- The trigger, which this read only picks (it decides nothing): of the address's messages, marked by
-- the macros fct_address_facts counts them with (is_dead_bounce; the soft run since the last delivery,
-- soft_bounces_before_suppress), the first dead bounce (else
-- the first suppression-list bounce); the soft_bounces_before_suppress-th bounce of the soft run since
-- the last delivery. So a further bounce of a decided address is no new decision, and a new run after
-- a delivery is. Its event is the message's first committed bounce event: event_key keys the action
-- across runs (and rebuilds, which number loads from 1 again); committed_at dates it.
-- Both kinds are listed; the caller keeps those the policy defines. $since: the commit time the caller
-- has seen (null: everything): only rows whose trigger was committed after it.
with decided as (
    select
        portal_id,
        recipient,
        user_id,
        learner_name,
        user_status,
        hard_bounces,
        dead_bounces,
        consecutive_soft_bounces,
        last_delivery_at,
        case recommended_action
            when 'deactivate' then 'deactivate_learner' else 'suppress_address'
        end as kind
    from mart_address_facts
    where portal_id is not null
        and (
            (
                recommended_action = 'deactivate'
                and user_id is not null and coalesce(user_status, '') <> 'deactivated'
            )
            or recommended_action = 'suppress'
        )
),

candidates as (
    select
        d.kind,
        d.portal_id,
        d.recipient,
        o.message_key,
        o.bounced_at,
        is_dead_bounce(o.address_hard, o.hard_bounced, o.bounce_reason, o.suppressed) as dead,
        o.suppressed,
        in_soft_run(o.soft_bounced, o.delivered, o.bounced_at, d.last_delivery_at) as in_soft_run
    from decided as d
    inner join fct_recipient_outcomes as o on o.portal_id = d.portal_id and o.recipient = d.recipient
    where o.bounced_at is not null
),

picked as (
    select *
    from candidates
    where (kind = 'deactivate_learner' and (dead or suppressed))
        or (kind = 'suppress_address' and in_soft_run)
    qualify row_number() over (
        partition by kind, portal_id, recipient
        order by case when kind = 'deactivate_learner' then not dead end, bounced_at, message_key
    ) = case
        when kind = 'deactivate_learner' then 1
        else soft_bounces_before_suppress()
    end
),

triggers as (
    select
        p.kind,
        p.portal_id,
        p.recipient,
        e.event_key,
        e.message_id,
        e.event_at,
        e.bounce_type,
        e.bounce_subtype,
        e.bounce_class,
        e.reason,
        e.status_code,
        e.diagnostic,
        epoch_us(l.finished_at) as committed_us,
        l.finished_at as committed_at
    from picked as p
    inner join fct_recipient_events as e
        on e.event_type = 'Bounce' and e.recipient = p.recipient
            and coalesce(e.message_id, e.event_key) = p.message_key
    inner join _loads as l on l.load_id = e.load_id
    qualify row_number() over (
        partition by p.kind, p.portal_id, p.recipient order by l.finished_at, e.event_key
    ) = 1
),

final as (
    select
        t.kind,
        t.portal_id,
        t.recipient as address,
        d.user_id,
        d.learner_name,
        d.user_status,
        t.event_key,
        t.message_id,
        t.committed_us,
        strftime(timezone('UTC', t.committed_at), '%Y-%m-%dT%H:%M:%S.%fZ') as committed_at,
        strftime(timezone('UTC', t.event_at), '%Y-%m-%dT%H:%M:%SZ') as bounced_at,
        t.bounce_type,
        t.bounce_subtype,
        t.bounce_class,
        t.reason,
        t.status_code,
        t.diagnostic,
        d.hard_bounces,
        d.dead_bounces,
        d.consecutive_soft_bounces,
        strftime(timezone('UTC', d.last_delivery_at), '%Y-%m-%dT%H:%M:%SZ') as last_delivery_at
    from triggers as t
    inner join decided as d on d.kind = t.kind and d.portal_id = t.portal_id and d.recipient = t.recipient
    where $since is null or t.committed_at > cast($since as timestamptz)
)

select * from final
order by committed_us, kind, portal_id, address
