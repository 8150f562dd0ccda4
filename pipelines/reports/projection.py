"""What-ifs over a portal's hard-bounce rate: a planned send, a forecast, and a replay of the policy.

* `project_send` / `project_addresses`: would a planned batch push the portal past the cutoff?
* `forecast`: when does an at-risk portal fall back under the warning level, and when would the
  current trend cross the cutoff?
* `status_timeline` / `status_changes`: the status of every portal at the end of each past UTC day
  under a (proposed) policy, and the days it changed.

Conventions shared with `queries/reads/portal_status.sql` and `rates.sql`: a window ending at t holds
what was *sent* in (t - days, t] (a bounce counts with its send, so the bounce of a send older than
the window never counts); SES's mailbox-simulator mail is left out; per window a portal is
insufficient_volume below min_sent, else exceeded (hard rate >= cutoff or complaint rate >=
complaint_cutoff), approaching (>= the warning levels) or ok, a rate counting only with at least its
minimum of events (min_hard_bounces, min_complaints); the worst window decides, ties going to the
window with more sends (then by name). Per-portal overrides of the policy apply to every window.
Every status here comes from the SQL verdict (`metrics.judge`, macros.sql `window_status`).

Rounding rule of the projections: N planned sends at an expected hard share p hard-bounce
`expected_hard(N, p)` = N*p rounded half up (7.5 -> 8), so projected counts are whole numbers and a
projected rate is what a real send would show. `max_safe_sends` uses the same rule and is the
largest N such that *every* batch of 1..N sends keeps each window's hard rate strictly below its
cutoff (with rounding the rate is not monotone in N, so "the largest safe N" alone could sit above
an unsafe one). Example: 6 hard of 100 sent, cutoff 10 %, p = 0.2. Without rounding,
(6 + 0.2N)/(100 + N) < 0.10 holds for N < 40, i.e. N <= 39; but 38 sends bring round(7.6) = 8 hard
bounces, 14/138 = 10.1 %, so `max_safe_sends` is 37 (13/137 = 9.5 %).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

import polars as pl

from pipelines.reports import metrics
from pipelines.reports.policy import Policy, load_policy
from pipelines.warehouse import reads

# Past this many candidate batch sizes the exact search for max_safe_sends gives way to the
# unrounded bound (only when p is within ~1e-6 of a cutoff, where rounding no longer matters).
_SCAN_LIMIT = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# A pragmatic address check: dot-atom local part (no quoted strings), a host name of at least two
# labels and an alphabetic (or punycode) top-level domain, within RFC 5321's length limits.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS_RE = re.compile(
    rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})$"
)


# --- shared rules -------------------------------------------------------------------------------

def expected_hard(planned_sends: int, share: float) -> int:
    """Hard bounces among `planned_sends` at `share`: N*p rounded half up (float noise trimmed)."""
    return math.floor(round(planned_sends * share, 9) + 0.5)


def _as_of(con, as_of: datetime | None) -> datetime:
    """The given time (naive means UTC), else the newest event, else the epoch (an empty database)."""
    as_of = as_of or metrics.default_as_of(con) or _EPOCH
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)


def _window_counts(con, policy: Policy, portal_id: str, as_of: datetime, with_subportals: bool,
                   horizon: int = 0, portals: list[str] | None = None) -> pl.DataFrame:
    """`portals`: reads.members(portal_id, with_subportals), when the caller has it."""
    if portals is None:
        portals = reads.members(con, portal_id, with_subportals)
    return reads.run(con, "portal_window_counts", tables={"policy_windows": policy.windows_frame()},
                     portal_id=portal_id, portals=portals, as_of=as_of, horizon=horizon)


# --- projection ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WindowProjection:
    """One policy window before and after the planned send."""

    window_name: str
    days: float
    min_sent: int
    warning: float
    cutoff: float
    complaint_warning: float
    complaint_cutoff: float
    sent: int
    hard_bounced: int
    complaints: int
    hard_rate: float | None
    status: str
    projected_sent: int
    projected_hard_bounced: int
    projected_hard_rate: float | None
    projected_complaint_rate: float | None
    projected_status: str
    # Smallest batch (same p) that would take this window's hard rate to its cutoff; None: none.
    first_unsafe_sends: int | None
    # Most hard bounces among the planned sends that keep this window under its cutoff.
    max_hard_at_n: int | None


@dataclass(frozen=True)
class Projection:
    """A planned send of `planned_sends` at `expected_hard_share` for one portal, judged per window.

    `max_safe_sends`: the largest N such that every batch of 1..N sends at this share keeps every
    window's hard rate below its cutoff; None when the share is 0 or below every cutoff and cannot
    tip it (`max_safe_note` 'unbounded'), or when a window is already at or over its cutoff
    ('already_over'). `max_share_at_n` = `max_hard_at_n` / N: the share at which the planned sends
    bring the most hard bounces that keep every window under its cutoff (any share rounding to the
    same count is as safe); None when N is 0 or even no hard bounce would do. Both look at the hard
    rate only, and ignore min_sent and min_hard_bounces (a window under them is not judged now, but
    will be).
    Complaints enter the statuses unchanged: the planned sends are assumed to bring none.
    """

    portal_id: str
    with_subportals: bool
    as_of: datetime
    planned_sends: int
    expected_hard_share: float
    expected_hard_bounces: int
    windows: tuple[WindowProjection, ...]
    status: str
    deciding_window: str
    hard_rate: float | None
    projected_status: str
    projected_deciding_window: str
    projected_hard_rate: float | None
    max_safe_sends: int | None
    max_safe_note: str
    max_hard_at_n: int | None
    max_share_at_n: float | None

    @property
    def crosses_cutoff(self) -> bool:
        """The planned send alone takes the portal to exceeded."""
        return self.projected_status == "exceeded" and self.status != "exceeded"

    def windows_frame(self) -> pl.DataFrame:
        names = [f.name for f in fields(WindowProjection)]
        return pl.DataFrame([{n: getattr(w, n) for n in names} for w in self.windows])


def project_send(con, portal_id: str, planned_sends: int, expected_hard_share: float,
                 policy: Policy | None = None, as_of: datetime | None = None,
                 with_subportals: bool = False, counts: list[dict] | None = None) -> Projection:
    """Would sending `planned_sends` now, `expected_hard_share` of them hard-bouncing, push the
    portal (with its sub-portals if asked) past the cutoff? The sends are added at `as_of` (default:
    the newest event), so they fall inside every window. See the module docstring for rounding.
    `counts`: the portal's window counts at `as_of` under `policy`, when the caller has read them."""
    if isinstance(planned_sends, bool) or not isinstance(planned_sends, int) or planned_sends < 0:
        raise ValueError("planned_sends must be a whole number >= 0")
    if not 0.0 <= expected_hard_share <= 1.0:
        raise ValueError("expected_hard_share must be between 0 and 1")
    policy = policy or load_policy()
    as_of = _as_of(con, as_of)
    n, p = planned_sends, float(expected_hard_share)
    added = expected_hard(n, p)
    if counts is None:
        counts = _window_counts(con, policy, portal_id, as_of, with_subportals).to_dicts()
    verdicts = metrics.judge(con, [{**w, "grp": "now"} for w in counts] + [
        {**w, "grp": "projected", "sent": w["sent"] + n, "hard_bounced": w["hard_bounced"] + added}
        for w in counts])
    status = {(r["grp"], r["window_name"]): r["status"] for r in verdicts.to_dicts()}
    deciding = {r["grp"]: r["window_name"] for r in verdicts.filter(pl.col("deciding")).to_dicts()}
    rows = []
    for w in counts:
        s, h, c = w["sent"], w["hard_bounced"], w["complaints"]
        ps, ph = s + n, h + added
        rows.append({
            **{k: w[k] for k in ("window_name", "days", "min_sent", "warning", "cutoff",
                                 "complaint_warning", "complaint_cutoff")},
            "sent": s, "hard_bounced": h, "complaints": c,
            "hard_rate": h / s if s else None,
            "status": status["now", w["window_name"]],
            "projected_sent": ps, "projected_hard_bounced": ph,
            "projected_hard_rate": ph / ps if ps else None,
            "projected_complaint_rate": c / ps if ps else None,
            "projected_status": status["projected", w["window_name"]],
            "first_unsafe_sends": _first_unsafe(s, h, w["cutoff"], p),
            "max_hard_at_n": _max_hard(s, h, w["cutoff"], n),
        })
    by_name = {r["window_name"]: r for r in rows}
    now, then = by_name[deciding["now"]], by_name[deciding["projected"]]

    over = any(r["sent"] and r["hard_bounced"] / r["sent"] >= r["cutoff"] for r in rows)
    limits = [r["first_unsafe_sends"] for r in rows if r["first_unsafe_sends"] is not None]
    if over:
        max_safe, note = None, "already_over"
    elif p == 0 or not limits:
        max_safe, note = None, "unbounded"
    else:
        max_safe, note = min(limits) - 1, "limit"
    hard_caps = [r["max_hard_at_n"] for r in rows]
    max_hard = None if n == 0 or None in hard_caps else min(hard_caps)
    return Projection(
        portal_id=portal_id, with_subportals=with_subportals, as_of=as_of, planned_sends=n,
        expected_hard_share=p, expected_hard_bounces=added,
        windows=tuple(WindowProjection(**r) for r in rows),
        status=now["status"], deciding_window=now["window_name"], hard_rate=now["hard_rate"],
        projected_status=then["projected_status"], projected_deciding_window=then["window_name"],
        projected_hard_rate=then["projected_hard_rate"], max_safe_sends=max_safe, max_safe_note=note,
        max_hard_at_n=max_hard, max_share_at_n=None if max_hard is None else max_hard / n,
    )


def _first_unsafe(sent: int, hard: int, cutoff: float, share: float) -> int | None:
    """Smallest N >= 1 with (hard + expected_hard(N, share)) / (sent + N) >= cutoff, else None.

    The rounded count lies within 0.5 of N*share, so only N near the unrounded crossing point can
    be the first unsafe one: the search looks there and nowhere else.
    """
    def unsafe(n: int) -> bool:
        return (hard + expected_hard(n, share)) / (sent + n) >= cutoff

    room = cutoff * sent - hard  # hard bounces the window can still take at its current size
    if share > cutoff:
        lo = max(1, math.floor((room - 0.5) / (share - cutoff)) - 1)
        hi = math.ceil((room + 0.5) / (share - cutoff)) + 1
    elif share < cutoff:
        lo, hi = 1, math.floor((0.5 - room) / (cutoff - share)) + 1
    else:
        lo, hi = 1, _SCAN_LIMIT if room <= 0.5 else 0
    for n in range(lo, min(hi, lo + _SCAN_LIMIT) + 1):
        if unsafe(n):
            return n
    if share > cutoff and hi > lo + _SCAN_LIMIT:
        return max(1, math.ceil(room / (share - cutoff)))
    return None


def _max_hard(sent: int, hard: int, cutoff: float, planned: int) -> int | None:
    """Most hard bounces k in 0..planned with (hard + k) / (sent + planned) < cutoff; None: none."""
    total = sent + planned
    if total == 0:
        return None
    k = min(planned, max(-1, math.ceil(cutoff * total - hard) - 1))
    while k >= 0 and (hard + k) / total >= cutoff:
        k -= 1
    while k + 1 <= planned and (hard + k + 1) / total < cutoff:
        k += 1
    return k if k >= 0 else None


# --- projection from a list of addresses --------------------------------------------------------

@dataclass(frozen=True)
class AddressProjection:
    projection: Projection
    addresses: pl.DataFrame
    expected_hard_share: float
    flagged: int
    assumed_rate: float
    assumed_rate_window: str


# A domain with at least this many sends in the account, every one hard-bounced, is dead.
DEAD_DOMAIN_MIN_SENT = 3


def project_addresses(con, portal_id: str, addresses: list[str], policy: Policy | None = None,
                      as_of: datetime | None = None, with_subportals: bool = False,
                      dead_domain_min_sent: int = DEAD_DOMAIN_MIN_SENT,
                      history: pl.DataFrame | None = None) -> AddressProjection:
    """Project sending to `addresses`, estimating the hard share from what the account knows.

    The model, per address (trimmed, lower-cased, blanks dropped, duplicates counted once):
    * expected to hard-bounce (probability 1) when it already hard-bounced anywhere in the account
      (SES's rule, `fct_recipient_outcomes.hard_bounced`, any portal, any time), or its syntax is
      invalid (see `valid_address`), or its domain only ever hard-bounced (at least
      `dead_domain_min_sent` sends in the account, every one a hard bounce);
    * otherwise expected to hard-bounce at the portal's own current hard rate in its longest policy
      window (0 when the portal sent nothing there);
    * addresses at SES's mailbox simulator are listed but not counted: SES leaves them out of rates.
    The expected share is the mean probability over the counted addresses, and the projection is
    `project_send` with N = the counted addresses at that share (so the expected hard bounces are
    the flagged addresses plus the others' share, rounded half up).

    `addresses` is the per-address frame: address, domain, valid_syntax, hard_bounces,
    last_hard_bounce_at, domain_sent, domain_hard_bounced, known_hard_bounce, dead_domain,
    simulator, counted, expected_hard, reason (known_hard_bounce | invalid_syntax | dead_domain |
    simulator | None), hard_probability.
    `history`: the `address_history` read of these addresses at `dead_domain_min_sent`, when the
    caller already has it (the pre-send check reads it for its flags).
    """
    policy = policy or load_policy()
    as_of = _as_of(con, as_of)
    seen: dict[str, None] = {}
    for raw in addresses:
        address = (raw or "").strip().lower()
        if address:
            seen.setdefault(address)
    planned = pl.DataFrame({"address": list(seen)}, schema={"address": pl.String})
    if history is None:
        history = reads.run(con, "address_history", addresses=list(seen),
                            dead_domain_min_sent=dead_domain_min_sent)

    counts = _window_counts(con, policy, portal_id, as_of, with_subportals).to_dicts()
    longest = max(counts, key=lambda w: w["days"])
    rate = longest["hard_bounced"] / longest["sent"] if longest["sent"] else 0.0

    frame = (
        planned.join(history, on="address", how="left", maintain_order="left")
        .with_columns(
            valid_syntax=pl.col("address").map_elements(valid_address, return_dtype=pl.Boolean),
        )
        .with_columns(
            counted=~pl.col("simulator"),
            expected_hard=pl.col("known_hard_bounce") | ~pl.col("valid_syntax") | pl.col("dead_domain"),
            reason=pl.when(pl.col("simulator")).then(pl.lit("simulator"))
            .when(pl.col("known_hard_bounce")).then(pl.lit("known_hard_bounce"))
            .when(~pl.col("valid_syntax")).then(pl.lit("invalid_syntax"))
            .when(pl.col("dead_domain")).then(pl.lit("dead_domain")),
        )
        .with_columns(
            hard_probability=pl.when(~pl.col("counted")).then(None)
            .when(pl.col("expected_hard")).then(1.0).otherwise(rate),
        )
        .select("address", "domain", "valid_syntax", "hard_bounces", "last_hard_bounce_at",
                "domain_sent", "domain_hard_bounced", "known_hard_bounce", "dead_domain", "simulator",
                "counted", "expected_hard", "reason", "hard_probability")
    )
    counted = frame.filter(pl.col("counted"))
    n = counted.height
    share = float(counted["hard_probability"].sum()) / n if n else 0.0
    projection = project_send(con, portal_id, n, min(share, 1.0), policy, as_of, with_subportals, counts)
    return AddressProjection(
        projection=projection, addresses=frame, expected_hard_share=share,
        flagged=int(counted["expected_hard"].sum()), assumed_rate=rate,
        assumed_rate_window=longest["window_name"],
    )


def valid_address(address: str) -> bool:
    """Pragmatic syntax check (not full RFC 5322): dot-atom local part of at most 64 characters, a
    host of two or more labels with an alphabetic or punycode top-level domain, 254 characters at
    most. Quoted local parts and address literals count as invalid: an LMS never needs them."""
    return len(address) <= 254 and len(address.partition("@")[0]) <= 64 and bool(_ADDRESS_RE.match(address))


# --- forecast -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """Where the portal's hard-bounce rate is heading, day by day (see `forecast`)."""

    portal_id: str
    with_subportals: bool
    as_of: datetime
    horizon_days: int
    status: str
    baseline_daily_sends: float
    baseline_hard_rate: float
    excluded_batch_id: str | None
    excluded_batch_sent: int
    excluded_batch_hard_bounced: int
    trend_days: float
    trend_daily_sends: float
    trend_hard_rate: float
    recovers_on: date | None
    recovers_on_without_sends: date | None
    exceeds_on: date | None
    series: pl.DataFrame


def forecast(con, portal_id: str, policy: Policy | None = None, as_of: datetime | None = None,
             with_subportals: bool = False, horizon_days: int = 90, trend_days: float = 7) -> Forecast:
    """Walk the policy windows forward from `as_of`, one UTC day at a time, in three scenarios.

    Step 0 is `as_of` itself; step d is the end of the d-th UTC day after it (23:59:59.999999), the
    time `status_timeline` judges at. At each step every window holds what was really sent in it
    up to `as_of` (old sends and their bounces leave as the window slides) plus assumed new sends,
    spread evenly over time from `as_of`:
    * `baseline` (gives `recovers_on`): the portal keeps sending at its routine pace, the daily
      volume and hard rate of its longest policy window without its worst upload batch (the batch
      with the most hard bounces there; nothing is left out when no batch hard-bounced). So the
      bad batch ages out and routine mail takes its place.
    * `no_new_sends` (gives `recovers_on_without_sends`): nothing more is sent; the window only
      empties.
    * `trend` (gives `exceeds_on`): the last `trend_days` days' daily volume and hard rate go on.
    New sends are expected values (fractional counts), not rounded: this is a trend, not a batch.
    Statuses in the forecast use the hard-bounce levels, min_sent and min_hard_bounces only
    (complaints are not forecast; fractional expected hard bounces meet the minimum as they are).
    `recovers_on*`: the first day every window is ok or insufficient_volume (the portal no longer
    flagged), `exceeds_on`: the first day a window is exceeded; `as_of`'s date when
    that already holds at step 0, None when not within `horizon_days`.

    `series`: one row per scenario, step and window: scenario, step, day, ends_at, window_name,
    sent, hard_bounced, hard_rate, min_sent, warning, cutoff, status, portal_status (the worst
    window's status that day), for charting with the warning and cutoff lines.
    """
    policy = policy or load_policy()
    as_of = _as_of(con, as_of)
    portals = reads.members(con, portal_id, with_subportals)
    counts = _window_counts(con, policy, portal_id, as_of, with_subportals, horizon=horizon_days,
                            portals=portals)
    longest_days = float(counts["days"].max()) if counts.height else 30.0
    prof = reads.run(con, "portal_send_profile", portals=portals, as_of=as_of,
                     baseline_days=longest_days, trend_days=float(trend_days)).to_dicts()[0]
    base_sent = prof["baseline_sent"] - prof["worst_batch_sent"]
    base_hard = prof["baseline_hard_bounced"] - prof["worst_batch_hard_bounced"]
    scenarios = {
        "baseline": (base_sent / longest_days, base_hard / base_sent if base_sent else 0.0),
        "no_new_sends": (0.0, 0.0),
        "trend": (prof["trend_sent"] / trend_days,
                  prof["trend_hard_bounced"] / prof["trend_sent"] if prof["trend_sent"] else 0.0),
    }
    rows = []
    for w in counts.to_dicts():
        elapsed = (w["ends_at"] - as_of).total_seconds() / 86400
        new_days = min(max(elapsed, 0.0), w["days"])
        for scenario, (daily, rate) in scenarios.items():
            sent = w["sent"] + daily * new_days
            hard = w["hard_bounced"] + daily * new_days * rate
            rows.append({
                "scenario": scenario, "step": w["step"], "grp": f"{scenario}/{w['step']}",
                "day": w["ends_at"].astimezone(UTC).date(), "ends_at": w["ends_at"],
                "window_name": w["window_name"], "sent": sent, "hard_bounced": hard,
                "hard_rate": hard / sent if sent else None, "min_sent": w["min_sent"],
                "min_hard_bounces": w["min_hard_bounces"], "min_complaints": w["min_complaints"],
                "warning": w["warning"], "cutoff": w["cutoff"], "complaints": None,
                "complaint_warning": w["complaint_warning"], "complaint_cutoff": w["complaint_cutoff"],
            })
    series = pl.DataFrame(rows, schema={
        "scenario": pl.String, "step": pl.Int32, "grp": pl.String, "day": pl.Date,
        "ends_at": pl.Datetime("us", "UTC"), "window_name": pl.String, "sent": pl.Float64,
        "hard_bounced": pl.Float64, "hard_rate": pl.Float64, "min_sent": pl.Int64,
        "min_hard_bounces": pl.Int64, "min_complaints": pl.Int64, "warning": pl.Float64,
        "cutoff": pl.Float64, "complaints": pl.Float64, "complaint_warning": pl.Float64,
        "complaint_cutoff": pl.Float64,
    })
    # Complaints are not forecast: the hard-bounce levels, min_sent and min_hard_bounces judge each step.
    verdicts = metrics.judge(con, rows).select("grp", "window_name", "status", "severity", "deciding")
    series = series.join(verdicts, on=["grp", "window_name"], how="left")
    portal = (series.filter(pl.col("deciding"))
              .select("scenario", "step", "day", portal_status="status", worst="severity")
              .sort("scenario", "step"))
    series = series.join(portal.select("scenario", "step", "portal_status"), on=["scenario", "step"],
                         how="left").sort("scenario", "step", "window_name").select(
        "scenario", "step", "day", "ends_at", "window_name", "sent", "hard_bounced", "hard_rate",
        "min_sent", "warning", "cutoff", "status", "portal_status")

    def first_day(scenario: str, condition: pl.Expr) -> date | None:
        hits = portal.filter((pl.col("scenario") == scenario) & condition)
        return hits["day"][0] if hits.height else None

    # Recovered: every window ok or too small to judge, i.e. no worse than ok.
    recovered = pl.col("portal_status").is_in(["ok", "insufficient_volume"])
    now = portal.filter((pl.col("scenario") == "baseline") & (pl.col("step") == 0))
    return Forecast(
        portal_id=portal_id, with_subportals=with_subportals, as_of=as_of, horizon_days=horizon_days,
        status=now["portal_status"][0] if now.height else "insufficient_volume",
        baseline_daily_sends=scenarios["baseline"][0], baseline_hard_rate=scenarios["baseline"][1],
        excluded_batch_id=prof["worst_batch_id"], excluded_batch_sent=prof["worst_batch_sent"],
        excluded_batch_hard_bounced=prof["worst_batch_hard_bounced"], trend_days=float(trend_days),
        trend_daily_sends=scenarios["trend"][0], trend_hard_rate=scenarios["trend"][1],
        recovers_on=first_day("baseline", recovered),
        recovers_on_without_sends=first_day("no_new_sends", recovered),
        exceeds_on=first_day("trend", pl.col("portal_status") == "exceeded"),
        series=series,
    )


# --- replay -------------------------------------------------------------------------------------

def status_timeline(con, policy: Policy | None, since: date, until: date,
                    portal_ids: list[str] | None = None, with_subportals: bool = False) -> pl.DataFrame:
    """Each portal's status at the end of every UTC day from `since` to `until` (inclusive) under
    `policy`, in one query (queries/reads/status_timeline.sql): day, portal_id, then the deciding
    window's sent, hard_bounced, hard_rate, complaints, complaint_rate, and status, deciding_window.
    `disabled` is not replayed (the directory says only whether mail is switched off today)."""
    if until < since:
        raise ValueError("until must not be before since")
    policy = policy or load_policy()
    return reads.run(con, "status_timeline", tables={"policy_windows": policy.windows_frame()},
                     since=since, until=until, rollup=with_subportals,
                     portals=None if portal_ids is None else [str(p) for p in portal_ids])


def status_changes(timeline: pl.DataFrame) -> pl.DataFrame:
    """The transitions of a `status_timeline`: portal_id, day, from_status, to_status, hard_rate
    (on the day of the change). A portal's first day is its starting point, not a change."""
    return (
        timeline.sort("portal_id", "day")
        .with_columns(from_status=pl.col("status").shift(1).over("portal_id"))
        .filter(pl.col("from_status").is_not_null() & (pl.col("from_status") != pl.col("status")))
        .select("portal_id", "day", "from_status", pl.col("status").alias("to_status"), "hard_rate")
    )
