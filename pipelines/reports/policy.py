"""The status policy (TOML): windows with their levels, per-portal overrides, address rules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.config import read_toml

DEFAULT_POLICY = Path(__file__).resolve().parent / "policy_default.toml"
_WINDOW_KEYS = ("days", "min_sent", "warning", "cutoff", "complaint_warning", "complaint_cutoff")
# Minimum events per metric: optional in a file, a window without them takes the default file's.
_EVENT_KEYS = ("min_hard_bounces", "min_complaints")


@dataclass(frozen=True)
class Window:
    name: str
    days: float
    min_sent: int
    warning: float
    cutoff: float
    complaint_warning: float
    complaint_cutoff: float
    # A rate is judged only on at least this many events of its own (besides min_sent sends); a
    # Window made in code has no such minimum, a policy file's takes the default file's when unset.
    min_hard_bounces: int = 0
    min_complaints: int = 0


@dataclass(frozen=True)
class AccountLevels:
    """SES's review levels for the whole account's rates (the policy file's [account])."""

    warning: float
    cutoff: float
    complaint_warning: float
    complaint_cutoff: float


@dataclass(frozen=True)
class Policy:
    windows: tuple[Window, ...]
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    soft_bounces_before_suppress: int = 3
    source: str = "default"
    # A policy without [account] takes the default file's: SES's levels are not the portal's to set.
    account: AccountLevels | None = None
    # The action kinds the file's [actions] turns on (ACTION_KINDS order); none for a file without it,
    # nor for a Policy made in code: a decision that changes the LMS is never assumed.
    actions: tuple[str, ...] = ()

    def windows_frame(self) -> pl.DataFrame:
        """One row per (portal or '*', window): the levels the status query judges against."""
        rows = []
        for portal in ["*", *sorted(self.overrides)]:
            for w in self.windows:
                levels = replace(w, **self.overrides.get(portal, {}))
                rows.append({"portal_id": portal, **levels.__dict__})
        return pl.DataFrame(rows, schema={
            "portal_id": pl.String, "name": pl.String, "days": pl.Float64, "min_sent": pl.Int64,
            "warning": pl.Float64, "cutoff": pl.Float64, "complaint_warning": pl.Float64,
            "complaint_cutoff": pl.Float64, "min_hard_bounces": pl.Int64, "min_complaints": pl.Int64,
        })


@cache
def _default() -> dict:
    """The default policy file, read once: a policy without some keys takes them from it."""
    return read_toml(DEFAULT_POLICY, "policy file")


def _check_levels(levels: dict, where: str) -> None:
    if not (0 <= levels["warning"] <= levels["cutoff"]
            and 0 <= levels["complaint_warning"] <= levels["complaint_cutoff"]):
        raise ValueError(f"{where}: warning levels must not exceed cutoffs")


def _whole_days(value, where: str) -> float:
    # A status timeline judges at the end of each UTC day: a window of whole days holds whole days of
    # sending, which lets it count by day (queries/reads/status_timeline.sql) rather than by send.
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1 or value != int(value):
        raise ValueError(f"{where}: days must be a whole number of days, at least 1 (got {value!r})")
    return float(value)


def _event_minimum(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where} must be a whole number >= 0")
    return value


# [actions] key -> the action kind it turns on (`python -m pipelines actions`, pipelines/reports/actions.py).
ACTION_KEYS = {
    "deactivate_learner_after_hard_bounces": "deactivate_learner",
    "suppress_address": "suppress_address",
    "portal_over_cutoff": "portal_over_cutoff",
    "portal_recovered": "portal_recovered",
}
ACTION_KINDS = tuple(ACTION_KEYS.values())


def _actions(section, where: str) -> tuple[str, ...]:
    """The kinds [actions] turns on. A key left out is off; an unknown key is refused, since a typo
    would otherwise silently turn a decision off."""
    if section is None:
        return ()
    if not isinstance(section, dict):
        raise ValueError(f"{where}: [actions] must be a table")
    unknown = set(section) - set(ACTION_KEYS)
    if unknown:
        raise ValueError(f"{where}: [actions]: unknown keys {sorted(unknown)} "
                         f"(known: {', '.join(ACTION_KEYS)})")
    on = []
    for key, kind in ACTION_KEYS.items():
        value = section.get(key, False)
        if key == "deactivate_learner_after_hard_bounces":
            # The recommended action (queries/models/mart_address_facts.sql) deactivates on one dead
            # bounce; another count would be a second rule, so only on (1) or off (0) is accepted.
            if key in section and (isinstance(value, bool) or value not in (0, 1)):
                raise ValueError(f"{where}: [actions] {key} must be 1 (deactivate after one hard bounce) "
                                 "or 0 (off)")
        elif not isinstance(value, bool):
            raise ValueError(f"{where}: [actions] {key} must be true or false")
        if value:
            on.append(kind)
    return tuple(on)


def load_policy(path: str | os.PathLike | None = None) -> Policy:
    path = Path(path) if path else DEFAULT_POLICY
    data = _default() if path == DEFAULT_POLICY else read_toml(path, "policy file")
    # A window written before the event minimums existed takes the default file's (its first window's).
    default_events = {k: _default()["window"][0][k] for k in _EVENT_KEYS}
    windows = []
    for i, w in enumerate(data.get("window", [])):
        missing = [k for k in _WINDOW_KEYS if k not in w]
        if missing:
            raise ValueError(f"policy {path}: window {i + 1} lacks {', '.join(missing)}")
        _check_levels(w, f"policy {path}: window {i + 1}")
        events = {k: _event_minimum(w.get(k, default_events[k]), f"policy {path}: window {i + 1}: {k}")
                  for k in _EVENT_KEYS}
        days = _whole_days(w["days"], f"policy {path}: window {i + 1}")
        windows.append(Window(name=str(w.get("name", f"{w['days']}d")), days=days,
                              min_sent=int(w["min_sent"]), warning=float(w["warning"]),
                              cutoff=float(w["cutoff"]), complaint_warning=float(w["complaint_warning"]),
                              complaint_cutoff=float(w["complaint_cutoff"]), **events))
    if not windows:
        raise ValueError(f"policy {path}: at least one [[window]] is needed")
    overrides = {}
    for portal, levels in data.get("portal", {}).items():
        unknown = set(levels) - set(_WINDOW_KEYS) - set(_EVENT_KEYS)
        if unknown:
            raise ValueError(f"policy {path}: portal {portal}: unknown keys {sorted(unknown)}")
        for k in set(levels) & set(_EVENT_KEYS):
            _event_minimum(levels[k], f"policy {path}: portal {portal}: {k}")
        if "days" in levels:
            _whole_days(levels["days"], f"policy {path}: portal {portal}")
        overrides[str(portal)] = levels
    account = data.get("account") or _default()["account"]
    unknown = set(account) - {"warning", "cutoff", "complaint_warning", "complaint_cutoff"}
    if unknown:
        raise ValueError(f"policy {path}: [account]: unknown keys {sorted(unknown)}")
    try:
        levels = AccountLevels(**{k: float(v) for k, v in account.items()})
    except TypeError as exc:
        raise ValueError(f"policy {path}: [account] needs warning, cutoff, complaint_warning and "
                         "complaint_cutoff") from exc
    _check_levels(levels.__dict__, f"policy {path}: [account]")
    address = data.get("address", {})
    return Policy(tuple(windows), overrides, int(address.get("soft_bounces_before_suppress", 3)), str(path),
                  levels, _actions(data.get("actions"), f"policy {path}"))
