"""Where things are and how events are attributed: one rule for the CLI and the app."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO_ROOT / "data" / "bouncedesk.duckdb"
DB_ENV = "BOUNCEDESK_DB"


def resolve_db_path(cli_value: str | os.PathLike | None = None) -> Path:
    """`--db PATH`, else `$BOUNCEDESK_DB`, else `data/bouncedesk.duckdb` under the repo."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_DB


@dataclass(frozen=True)
class Attribution:
    """Which SES message tag, else which header, carries each attribution field."""

    portal_tag: str = "portal_id"
    batch_tag: str = "upload_batch_id"
    type_tag: str = "message_type"
    portal_header: str = "X-Portal-Id"
    batch_header: str = "X-Upload-Batch-Id"
    type_header: str = "X-Message-Type"

    def as_params(self) -> dict[str, str]:
        return {
            "portal_tag": self.portal_tag,
            "batch_tag": self.batch_tag,
            "type_tag": self.type_tag,
            "portal_header": self.portal_header.lower(),
            "batch_header": self.batch_header.lower(),
            "type_header": self.type_header.lower(),
        }


@dataclass(frozen=True)
class RefreshConfig:
    sources: list[str] = field(default_factory=list)
    directory: str | None = None
    attribution: Attribution = Attribution()
    # A gzip object that inflates past this is treated as hostile (a zip bomb), not loaded.
    max_object_bytes: int = 2 * 1024**3
    # DuckDB's working memory in a refresh (its default is 80% of the machine); past it, disk.
    memory_limit: str = "1GB"
    # The [alerts] section as written (pipelines.notify.parse_alerts reads it) and the config file's
    # folder, against which its relative paths resolve.
    alerts: dict = field(default_factory=dict)
    config_dir: Path | None = None
    # After each refresh, also record SES's own reputation figures (pipelines.ingest.reputation).
    ses_reputation: bool = False
    # After each refresh, also export what changed to this Parquet lake (pipelines.lake.export).
    lake: str | None = None


def read_toml(path: Path, what: str) -> dict:
    """A TOML file's contents; a missing or malformed file is a ValueError that names it (`what`:
    "config file", "policy file"), which the command line reports as a usage error."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{what} not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{what} {path} is not valid TOML: {exc}") from exc


def load_config(path: str | os.PathLike) -> RefreshConfig:
    """Read a TOML refresh config.

    ```toml
    sources = ["s3://bucket/ses/", "sqs://ses-bounces"]
    directory = "exports/lms"
    [attribution]
    portal_tag = "portal_id"
    portal_header = "X-Portal-Id"
    [[alerts.channels]]            # delivery channels: pipelines/notify/channels.py
    name = "ops"
    kind = "webhook"
    url_env = "BOUNCEDESK_OPS_WEBHOOK"
    ```
    Relative paths resolve against the config file's folder. `ses_reputation = true` (a top-level key,
    default false) makes every refresh also record SES's own bounce and complaint rates from CloudWatch,
    as `--ses-reputation` does; without credentials or access it records nothing and says why.
    `lake = "DIR"` or `"s3://bucket/prefix"` (top-level) exports what changed to that Parquet lake after
    each refresh, as `--lake` does; a failing export never fails the refresh.
    """
    path = Path(path)
    data = read_toml(path, "config file")
    base = path.resolve().parent

    def local(p: str) -> str:
        if "://" in p or p.startswith("https:"):
            return p
        return str((base / p).resolve())

    known = {"sources", "directory", "attribution", "max_object_bytes", "memory_limit", "alerts"}
    known.add("ses_reputation")
    known.add("lake")
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"config file {path}: unknown keys {sorted(unknown)}")
    # A quoted "false" would be truthy: only a TOML boolean is accepted.
    if not isinstance(data.get("ses_reputation", False), bool):
        raise ValueError(f"config file {path}: ses_reputation must be true or false")
    attribution = Attribution(**data.get("attribution", {}))
    return RefreshConfig(
        sources=[local(s) for s in data.get("sources", [])],
        directory=local(data["directory"]) if data.get("directory") else None,
        attribution=attribution,
        max_object_bytes=int(data.get("max_object_bytes", RefreshConfig.max_object_bytes)),
        memory_limit=memory_size(str(data.get("memory_limit", RefreshConfig.memory_limit))),
        alerts=data.get("alerts", {}),
        config_dir=base,
        ses_reputation=data.get("ses_reputation", False),
        lake=local(data["lake"]) if data.get("lake") else None,
    )


# DuckDB's units: KB, MB, GB are powers of 1000, KiB, MiB, GiB of 1024.
_UNIT_BYTES = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(" + "|".join(_UNIT_BYTES) + r")\s*", re.IGNORECASE)


def memory_bytes(text: str) -> int:
    m = _SIZE.fullmatch(memory_size(text))
    return int(float(m.group(1)) * _UNIT_BYTES[m.group(2).lower()])


def doubled_memory_limit(text: str | None) -> str | None:
    """Twice `text`, capped at DuckDB's own default (80% of the machine's memory); None when
    already there (or no limit was set)."""
    if text is None:
        return None
    cap = int(0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    current = memory_bytes(text)
    if current >= cap:
        return None
    return f"{min(2 * current, cap) // 1000**2}MB"


def memory_size(text: str) -> str:
    """A memory size DuckDB accepts (`1GB`, `512MiB`), checked here so a typo is a usage error."""
    if not _SIZE.fullmatch(text):
        raise ValueError(f"memory limit {text!r} is not a size like 1GB or 512MB")
    return text.strip()
