"""Delivery channels, from the `[alerts]` section of the refresh config (`refresh --config FILE`).

```toml
[alerts]
app_url = "https://bouncedesk.example.org/"   # links in messages point at its Portal page

[[alerts.channels]]
name = "ops"                                  # shown on Pipeline health
kind = "webhook"                              # webhook | sns | email
url = "https://hooks.example/…"               # or url_env = "VAR" / url_file = "/etc/…"
secret_env = "BOUNCEDESK_WEBHOOK_SECRET"      # HMAC key, read from the environment (or secret_file)
transitions = ["approaching", "exceeded", "disabled", "ok"]   # the statuses moved to (default: these)
portals = ["p004"]                            # default: every portal
scopes = ["alone"]                            # alone | rollup (default: alone)
digest = false                                # true: one daily digest instead of one message per change
digest_hour = 7                               # UTC hour from which the day's digest is due
max_attempts = 8                              # then the alert is undeliverable on this channel
timeout_seconds = 10

[[alerts.channels]]
name = "aws"
kind = "sns"
topic_arn = "arn:aws:sns:eu-west-1:123456789012:bouncedesk"   # region/endpoint: the AWS settings

[[alerts.channels]]
name = "managers"
kind = "email"
from = "bouncedesk@example.org"               # an identity verified in SES
to = ["am@example.org", "support@example.org"]
```

Secrets (a webhook URL carries its token, a signing key) are read from the environment or a file,
never from the config itself when they are named `*_env` / `*_file`; no error message, log line or
page shows them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("webhook", "sns", "email")
STATUSES = ("ok", "approaching", "exceeded", "disabled", "insufficient_volume")
DEFAULT_TRANSITIONS = ("approaching", "exceeded", "disabled", "ok")
SCOPES = ("alone", "rollup")
DEFAULT_APP_URL = "http://localhost:8501/"

_COMMON = {"name", "kind", "transitions", "portals", "scopes", "digest", "digest_hour", "max_attempts",
           "timeout_seconds"}
_BY_KIND = {
    "webhook": {"url", "url_env", "url_file", "secret_env", "secret_file"},
    "sns": {"topic_arn", "region", "endpoint_url"},
    "email": {"from", "to", "region", "endpoint_url"},
}


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    transitions: tuple[str, ...] = DEFAULT_TRANSITIONS
    portals: tuple[str, ...] | None = None
    scopes: tuple[str, ...] = ("alone",)
    digest: bool = False
    digest_hour: int = 7
    max_attempts: int = 8
    timeout_seconds: float = 10.0
    # kind-specific settings, secrets unresolved (read when sending: `secret`)
    settings: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def wants(self, portal_id: str, scope: str, to_status: str) -> bool:
        """Whether a transition of `portal_id` (`scope`) to `to_status` is this channel's to deliver."""
        return (not self.digest and to_status in self.transitions and scope in self.scopes
                and (self.portals is None or portal_id in self.portals))

    def secret(self, key: str) -> str | None:
        """`key` from the config, else from the environment variable `key_env`, else the file `key_file`."""
        if self.settings.get(key):
            return str(self.settings[key])
        env = self.settings.get(f"{key}_env")
        if env:
            value = os.environ.get(env)
            if not value:
                raise ChannelError(f"channel {self.name}: the environment variable {env} is not set")
            return value
        path = self.settings.get(f"{key}_file")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ChannelError(f"channel {self.name}: cannot read {key}_file ({exc.strerror})") from None
        return None


class ChannelError(ValueError):
    """A channel's configuration is wrong; the message names the channel and the key, never a secret."""


@dataclass(frozen=True)
class AlertsConfig:
    channels: tuple[Channel, ...] = ()
    app_url: str = DEFAULT_APP_URL

    def channel(self, name: str) -> Channel:
        for c in self.channels:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.channels) or "none configured"
        raise ChannelError(f"no alert channel named {name!r} (channels: {known})")


def parse_alerts(section: dict[str, Any] | None, base: Path | None = None) -> AlertsConfig:
    """The `[alerts]` section of a config file; a ChannelError names what is wrong. `base`: the config
    file's folder, against which relative `*_file` paths resolve."""
    if not section:
        return AlertsConfig()
    unknown = set(section) - {"channels", "app_url"}
    if unknown:
        raise ChannelError(f"[alerts]: unknown keys {sorted(unknown)}")
    channels = [_channel(raw, i, base) for i, raw in enumerate(section.get("channels", []))]
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ChannelError(f"[alerts]: channel names must be unique ({', '.join(names)})")
    app_url = str(section.get("app_url", DEFAULT_APP_URL))
    return AlertsConfig(tuple(channels), app_url if app_url.endswith("/") else app_url + "/")


def _channel(raw: dict[str, Any], index: int, base: Path | None) -> Channel:
    where = f"[[alerts.channels]] #{index + 1}"
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ChannelError(f"{where}: every channel needs a name")
    name = str(raw["name"])
    where = f"alert channel {name}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ChannelError(f"{where}: kind must be one of {', '.join(KINDS)} (got {kind!r})")
    unknown = set(raw) - _COMMON - _BY_KIND[kind]
    if unknown:
        raise ChannelError(f"{where}: unknown keys {sorted(unknown)} for kind {kind}")
    transitions = tuple(raw.get("transitions", DEFAULT_TRANSITIONS))
    if bad := set(transitions) - set(STATUSES):
        raise ChannelError(
            f"{where}: transitions must be statuses ({', '.join(STATUSES)}); not {sorted(bad)}")
    scopes = tuple(raw.get("scopes", ("alone",)))
    if bad := set(scopes) - set(SCOPES):
        raise ChannelError(f"{where}: scopes must be alone and/or rollup; not {sorted(bad)}")
    settings = {k: v for k, v in raw.items() if k in _BY_KIND[kind]}
    for key in ("url_file", "secret_file"):
        if key in settings and base is not None:
            settings[key] = str((base / settings[key]).resolve())
    if kind == "webhook" and not any(settings.get(k) for k in ("url", "url_env", "url_file")):
        raise ChannelError(f"{where}: a webhook needs url, url_env or url_file")
    if kind == "sns" and not settings.get("topic_arn"):
        raise ChannelError(f"{where}: an sns channel needs topic_arn")
    if kind == "email":
        to = settings.get("to")
        if not settings.get("from") or not to or not isinstance(to, list):
            raise ChannelError(f"{where}: an email channel needs from and a list of to addresses")
    digest_hour = int(raw.get("digest_hour", 7))
    max_attempts = int(raw.get("max_attempts", 8))
    if not 0 <= digest_hour <= 23 or max_attempts < 1:
        raise ChannelError(f"{where}: digest_hour is 0-23 and max_attempts at least 1")
    portals = raw.get("portals")
    return Channel(
        name=name, kind=kind, transitions=transitions,
        portals=None if portals is None else tuple(str(p) for p in portals), scopes=scopes,
        digest=bool(raw.get("digest", False)), digest_hour=digest_hour, max_attempts=max_attempts,
        timeout_seconds=float(raw.get("timeout_seconds", 10)), settings=settings,
    )
