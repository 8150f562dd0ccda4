"""The restore brief of one portal, and the one-sentence verdict of the address lookup.

`restore_brief(con, portal_id)` gathers what a restore conversation needs (status, daily rates, the
causes with their evidence, the breakdown by batch / domain / reason, the addresses to fix or
deactivate, and prevention steps chosen from the causes found); `to_markdown` and `to_html` render it
as self-contained documents. Every string that came from data (names, diagnostics, batch ids,
addresses) is HTML-escaped in both renderings, so neither a Markdown viewer nor a browser runs it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from pipelines.reports import export, metrics
from pipelines.reports.policy import Policy
from pipelines.warehouse import reads

TOP = 5


@dataclass(frozen=True)
class Brief:
    portal_id: str
    name: str | None
    status: dict | None  # metrics.status_table row of the portal, None when it has none
    as_of: datetime | None
    daily: pl.DataFrame
    causes: pl.DataFrame
    breakdown: pl.DataFrame
    addresses: pl.DataFrame  # export.bounced_addresses
    actions: pl.DataFrame  # recommended_action -> addresses
    cause_counts: dict[str, int]  # cause -> addresses (or evidence for batches / refusals)
    prevention: tuple[str, ...]
    warning: float | None = None  # the deciding window's levels
    cutoff: float | None = None

    def top(self, dimension: str, n: int = TOP) -> pl.DataFrame:
        return self.breakdown.filter(pl.col("dimension") == dimension).drop("dimension").head(n)


def worst_portal(status: pl.DataFrame) -> str | None:
    """The portal to look at first (`metrics.worst_first`): a disabled one, since it needs the restore
    call, then the worst status, highest hard rate, most sends."""
    if status.is_empty():
        return None
    return metrics.worst_first(status)["portal_id"][0]


def prevention_steps(causes: pl.DataFrame, actions: dict[str, int]) -> tuple[str, ...]:
    """How to keep it from happening again, chosen from the causes and actions found."""
    found = set(causes["cause"].to_list()) if not causes.is_empty() else set()
    steps = []
    if "bad_upload_batch" in found or actions.get("deactivate", 0):
        steps.append("Verify address lists before a bulk upload (an email-verification pass, or a "
                     "small test send first) and upload in smaller batches.")
    if "typo_domain" in found or any(a.startswith("fix typo") for a in actions):
        steps.append("Fix the typo domains listed below and turn on domain suggestions in the signup "
                     "and import forms (gmial.com -> gmail.com).")
    if "placeholder_address" in found:
        steps.append("Remove placeholder and test addresses (example.com, test@ ...) and stop "
                     "importing accounts without a real address.")
    if "role_account" in found:
        steps.append("Replace role addresses (info@, admin@ ...) with the learners' own addresses.")
    if "domain_rejecting_content" in found or actions.get("ask their IT to allow-list our sender", 0):
        steps.append("Ask the customer's corporate IT to allow-list our sending domain and IPs for "
                     "the domains that refuse our mail.")
    if "stale_accounts" in found:
        steps.append("Deactivate or re-confirm accounts that have not received mail for months before "
                     "mailing them again.")
    if actions.get("suppress", 0):
        steps.append("Stop mailing addresses that keep soft-bouncing until the learner confirms them.")
    if actions.get("stop mailing (complaint)", 0):
        steps.append("Honour complaints: stop mailing those learners and review what they were sent.")
    if not steps:
        steps.append("No specific cause was found: keep verifying new lists and watch the daily rate.")
    return tuple(steps)


def restore_brief(con, portal_id: str, policy: Policy | None = None,
                  status_table: pl.DataFrame | None = None) -> Brief:
    """The portal's brief; `status_table`: `metrics.status_table` under `policy`, when the caller has
    read it already."""
    as_of = metrics.default_as_of(con)
    table = metrics.status_table(con, policy, as_of) if status_table is None else status_table
    row = table.filter(pl.col("portal_id") == portal_id)
    until = (as_of or datetime(1970, 1, 1)).date()
    members = reads.members(con, portal_id)
    daily = reads.run(con, "daily_rates", since=until - timedelta(days=90), until=until, portals=members)
    causes = reads.run(con, "brief_causes", portals=members)
    breakdown = reads.run(con, "brief_breakdown", portal_id=portal_id)
    try:
        addresses = export.bounced_addresses(con, [portal_id], policy=policy)
    except export.UnknownPortal:
        addresses = pl.DataFrame(schema={c: pl.String for c in export.BOUNCED_COLUMNS})
    actions = (addresses.group_by("recommended_action").len("addresses")
               .sort(["addresses", "recommended_action"], descending=[True, False]))
    action_map = dict(actions.iter_rows())
    cause_counts = ({} if causes.is_empty() else dict(
        causes.group_by("cause").agg(pl.col("addresses").sum()).iter_rows()))
    return Brief(
        portal_id=portal_id,
        name=row["name"][0] if row.height else None,
        status=row.row(0, named=True) if row.height else None,
        as_of=as_of, daily=daily, causes=causes, breakdown=breakdown, addresses=addresses,
        actions=actions, cause_counts=cause_counts, prevention=prevention_steps(causes, action_map),
        warning=row["warning"][0] if row.height else None,
        cutoff=row["cutoff"][0] if row.height else None,
    )


# --- rendering ----------------------------------------------------------------------------------

def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.2f}%"


def _esc(value) -> str:
    """Untrusted text for either document: HTML-escaped, on one line, table pipes escaped."""
    if value is None:
        return ""
    text = html.escape(str(value), quote=True)
    return " ".join(text.split()).replace("|", "&#124;")


def status_line(b: Brief) -> str:
    s = b.status
    if not s:
        return "No status: the portal has no sends in the policy windows."
    return (f"Status {s['status']} ({s['why']}): {s['sent']:,} sent, {s['hard_bounced']:,} hard bounces, "
            f"hard rate {_pct(s['hard_rate'])}, deciding window {s['deciding_window']}.")


def _sections(b: Brief) -> list[tuple[str, list[str], list[tuple[str, pl.DataFrame, list[str]]]]]:
    """(heading, paragraphs, tables) per section; every data string is escaped by the renderers."""
    c = b.cause_counts
    causes_par = [
        f"Typo domains: {c.get('typo_domain', 0)} addresses; placeholder addresses: "
        f"{c.get('placeholder_address', 0)}; role accounts: {c.get('role_account', 0)}; "
        f"bad upload batches: {b.causes.filter(pl.col('cause') == 'bad_upload_batch').height if c else 0}; "
        f"domains refusing our content: "
        f"{b.causes.filter(pl.col('cause') == 'domain_rejecting_content').height if c else 0}."
    ]
    cause_cols = ["cause", "subject", "evidence", "evidence_unit", "bounced_addresses", "example_detail",
                  "suggestion"]
    fix = b.addresses.filter(pl.col("recommended_action") != "none")
    return [
        ("1. What caused the bounces", causes_par, [
            ("Causes with their evidence", b.causes, cause_cols),
            ("Top upload batches", b.top("batch"), ["value", "sent", "hard_bounced", "bounced"]),
            ("Top recipient domains", b.top("domain"), ["value", "sent", "hard_bounced", "bounced"]),
            ("Top bounce reasons", b.top("reason"), ["value", "hard_bounced", "bounced"]),
        ]),
        ("2. What to do with the existing data", [
            f"{b.addresses.height} bounced addresses; {fix.height} need an action (the attached CSV "
            "lists each with its recommended action)."], [
            ("Addresses by recommended action", b.actions, ["recommended_action", "addresses"]),
            (f"Addresses to fix or deactivate (first {min(fix.height, 50)})", fix.head(50),
             ["email", "learner_name", "bounce_type", "reason", "diagnostic", "recommended_action"]),
        ]),
        ("3. How to prevent it", list(b.prevention), []),
    ]


def _md_table(df: pl.DataFrame, cols: list[str]) -> str:
    if df.is_empty():
        return "_None._"
    cols = [col for col in cols if col in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_esc(v) for v in r) + " |" for r in df.select(cols).iter_rows()]
    return "\n".join(lines)


def to_markdown(b: Brief) -> str:
    out = [f"# Restore brief: portal {_esc(b.portal_id)}" + (f" ({_esc(b.name)})" if b.name else ""), "",
           f"Data as of {b.as_of:%Y-%m-%d %H:%M} UTC." if b.as_of else "No data loaded.", "",
           _esc(status_line(b)), ""]
    for heading, pars, tables in _sections(b):
        out += [f"## {heading}", ""]
        if tables:
            out += [_esc(p) for p in pars]
        else:
            out += [f"- {_esc(p)}" for p in pars]
        out.append("")
        for title, df, cols in tables:
            out += [f"### {_esc(title)}", "", _md_table(df, cols), ""]
    return "\n".join(out)


_CSS = """
body { font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 1.5rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1rem; } table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .status { padding: .5rem; background: #fff4e5; border-left: 4px solid #e67e22; }
@media print { body { margin: 0; font-size: 10pt; } h2 { page-break-after: avoid; }
  table { page-break-inside: auto; } tr { page-break-inside: avoid; } }
"""


def _html_table(df: pl.DataFrame, cols: list[str]) -> str:
    if df.is_empty():
        return "<p><em>None.</em></p>"
    cols = [col for col in cols if col in df.columns]
    head = "".join(f"<th>{_esc(col)}</th>" for col in cols)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in r) + "</tr>"
                   for r in df.select(cols).iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(b: Brief) -> str:
    title = f"Restore brief: portal {_esc(b.portal_id)}" + (f" ({_esc(b.name)})" if b.name else "")
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
             f"<style>{_CSS}</style></head><body><h1>{title}</h1>",
             f"<p>{f'Data as of {b.as_of:%Y-%m-%d %H:%M} UTC.' if b.as_of else 'No data loaded.'}</p>",
             f"<p class=\"status\">{_esc(status_line(b))}</p>"]
    for heading, pars, tables in _sections(b):
        parts.append(f"<h2>{_esc(heading)}</h2>")
        if tables:
            parts += [f"<p>{_esc(p)}</p>" for p in pars]
        else:
            parts.append("<ol>" + "".join(f"<li>{_esc(p)}</li>" for p in pars) + "</ol>")
        for t, df, cols in tables:
            parts += [f"<h3>{_esc(t)}</h3>", _html_table(df, cols)]
    parts.append("</body></html>")
    return "\n".join(parts)


# --- address lookup verdict ---------------------------------------------------------------------

def _day(ts) -> str:
    return f"{ts:%Y-%m-%d}" if ts else "an unknown day"


def address_verdict(address: str, portals: pl.DataFrame) -> str:
    """One sentence answering "a learner says she gets no mail", from lookup_portals rows."""
    if portals.is_empty():
        return (f"Nothing is on record for {address}: no mail was sent to it and no portal lists it; "
                "check the address the learner gave, and the portal she expects mail from.")
    rows = portals.to_dicts()

    def latest(pred, key="last_bounce_at"):
        hits = [r for r in rows if pred(r)]
        return max(hits, key=lambda r: r[key].timestamp() if r[key] else float("-inf")) if hits else None

    if r := latest(lambda r: (r["recommended_action"] or "").startswith("fix typo")):
        return (f"{address} looks like a typo of {r['suggested_address']}: correct the address in the "
                "portal and the learner will get her mail.")
    if r := latest(lambda r: r["dead_bounces"] > 0 or (r["hard_bounces"] > 0
                                                      and r["recommended_action"] == "deactivate")):
        why = f" ({r['last_reason']})" if r["last_reason"] not in (None, "undefined") else ""
        return (f"Mail to {address} hard-bounced on {_day(r['last_bounce_at'])}{why}: the address is "
                "dead; ask the learner for a new one.")
    if r := latest(lambda r: r["suppressed"]):
        return (f"{address} is on the SES suppression list (last on {_day(r['last_bounce_at'])}): SES "
                "no longer tries it; ask the learner for a working address.")
    if r := latest(lambda r: r["recommended_action"] == "ask their IT to allow-list our sender"):
        return (f"Mail to {address} is refused by the learner's mail server for its content or policy "
                f"(last on {_day(r['last_bounce_at'])}): ask their IT to allow-list our sender.")
    if r := latest(lambda r: r["recommended_action"] == "suppress"):
        return (f"Mail to {address} soft-bounced {r['consecutive_soft_bounces']} times in a row since its "
                f"last delivery ({r['last_reason'] or 'temporary failure'}): the mailbox may be full or "
                "down; ask the learner to check it.")
    if r := latest(lambda r: r["complaints"] > 0, "last_seen_at"):
        return (f"{address} marked our mail as spam: we stop mailing it; ask the learner to "
                "mark it as not spam and confirm she wants it.")
    if r := latest(lambda r: r["last_delivery_at"] is not None, "last_delivery_at"):
        return (f"Mail to {address} was last delivered on {_day(r['last_delivery_at'])}: it reaches her "
                "mail server; ask the learner to look in spam / junk and her mail filters.")
    if any(r["sends"] > 0 for r in rows):
        return (f"Mail to {address} was sent but no delivery or bounce is on record yet: check again "
                "after the next refresh.")
    if not any(r["in_directory"] for r in rows):
        return (f"No send to {address} is on record, only other events (see the history): check the "
                "address with the learner.")
    return (f"{address} is in the directory but no mail to it is on record: check that the portal "
            "sends her mail (notifications on, account active).")
