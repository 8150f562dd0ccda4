"""The decision feed for the LMS (`python -m pipelines actions`): what the policy decides since a cursor.

Four kinds, each listed only when the policy file's [actions] defines it (pipelines/reports/policy.py):
`deactivate_learner` and `suppress_address` from the address facts (queries/reads/actions_addresses.sql,
the export's recommended action), `portal_over_cutoff` and `portal_recovered` from the status
transitions the refreshes recorded (queries/reads/actions_portals.sql). Read-only: the cursor lives with
the caller, who applies each action once.

The cursor is the commit time of the newest load the answer covers (queries/reads/actions_cursor.sql),
written `c1-<epoch microseconds>`; an action is new when the commit that carried its trigger (the
bounce, the alert) came after it. A time rather than a load id because `rebuild` numbers loads from 1
again. A rebuild re-commits every fact in one load, so the address actions come once more, with the ids
they had: an id is a hash of kind, portal, address and the trigger (the bounce's event key; the alert's
commit time and transition), all of which a rebuild keeps, so a scheduler drops what it has seen.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from pipelines.reports.policy import ACTION_KINDS, Policy
from pipelines.warehouse import reads

_CURSOR = re.compile(r"c1-(\d{1,19})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Each kind's evidence: the columns of its read, in this order.
EVIDENCE = {
    "deactivate_learner": (
        "learner_name", "user_status", "bounced_at", "bounce_type", "bounce_subtype", "bounce_class",
        "reason", "status_code", "diagnostic", "message_id", "hard_bounces", "dead_bounces",
    ),
    "suppress_address": (
        "learner_name", "user_status", "bounced_at", "bounce_type", "bounce_subtype", "bounce_class",
        "reason", "status_code", "diagnostic", "message_id", "consecutive_soft_bounces", "last_delivery_at",
    ),
    "portal_over_cutoff": (
        "portal_name", "from_status", "to_status", "hard_rate", "complaint_rate", "sent", "as_of",
    ),
    "portal_recovered": (
        "portal_name", "from_status", "to_status", "hard_rate", "complaint_rate", "sent", "as_of",
    ),
}


def parse_cursor(cursor: str | None) -> datetime | None:
    """The commit time a cursor stands for (None: everything); a ValueError for any other text."""
    if cursor is None:
        return None
    match = _CURSOR.fullmatch(cursor.strip())
    if not match:
        raise ValueError(f"cursor {cursor!r} is not one `python -m pipelines actions` printed "
                         "(next_cursor=c1-...); leave --since out to list everything")
    return _EPOCH + timedelta(microseconds=int(match.group(1)))


def format_cursor(committed_us: int) -> str:
    return f"c1-{committed_us}"


def _action_id(kind: str, portal_id: str, address: str | None, trigger: str) -> str:
    content = "\x1f".join((kind, portal_id, address or "", trigger))
    return hashlib.sha256(content.encode()).hexdigest()[:24]


def actions(con, policy: Policy, since: str | None = None) -> dict[str, Any]:
    """`{"actions": [...], "next_cursor": ...}`: the policy's decisions committed after the cursor `since`
    (None: all so far), oldest first. Each action: id, kind, portal_id, address (null for a portal),
    user_id (the learner, when the directory knows the address), committed_at, evidence."""
    after = parse_cursor(since)
    # The mart's recommended action reads the policy's threshold from this variable (as the export sets it).
    con.execute("set variable soft_bounces_before_suppress = ?", [policy.soft_bounces_before_suppress])
    addresses = reads.run(con, "actions_addresses", since=after)
    portals = reads.run(con, "actions_portals", since=after)
    newest = reads.run(con, "actions_cursor")["committed_us"][0]
    seen = 0 if after is None else (after - _EPOCH) // timedelta(microseconds=1)
    window = ", ".join(w.name for w in policy.windows)

    found = []
    for row in addresses.filter(pl.col("kind").is_in(policy.actions)).to_dicts():
        found.append((row, row["address"], row["user_id"], row["event_key"]))
    for row in portals.filter(pl.col("kind").is_in(policy.actions)).to_dicts():
        found.append((row, None, None, f"{row['committed_us']}:{row['from_status']}:{row['to_status']}"))
    found.sort(key=lambda f: (f[0]["committed_us"], ACTION_KINDS.index(f[0]["kind"]), f[0]["portal_id"],
                              f[1] or ""))
    listed = []
    for row, address, user_id, trigger in found:
        evidence = {k: row[k] for k in EVIDENCE[row["kind"]]}
        if row["kind"] == "suppress_address":
            evidence["soft_bounces_before_suppress"] = policy.soft_bounces_before_suppress
        if row["kind"] in ("portal_over_cutoff", "portal_recovered"):
            # The alert does not record which window decided: these are the policy's (the worst decides).
            evidence["window"] = window
        listed.append({
            "id": _action_id(row["kind"], row["portal_id"], address, trigger), "kind": row["kind"],
            "portal_id": row["portal_id"], "address": address, "user_id": user_id,
            "committed_at": row["committed_at"], "evidence": evidence,
        })
    # Never behind the cursor given: a database restored from an older copy must not replay history.
    return {"actions": listed, "next_cursor": format_cursor(max(int(newest), seen))}


def action_line(action: dict[str, Any]) -> str:
    """One action as a human-readable line: kind, id, where, then its evidence as key=value."""
    def text(value: Any) -> str:
        value = "" if value is None else str(value)
        return value if value and not re.search(r"\s|\"", value) else '"' + value.replace('"', "'") + '"'

    head = (f"{action['kind']} id={action['id']} portal_id={action['portal_id']}"
            + (f" address={action['address']}" if action["address"] else ""))
    return head + "".join(f" {k}={text(v)}" for k, v in action["evidence"].items() if v is not None)
