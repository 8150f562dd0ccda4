"""What one refresh did: the counts a scheduler reads from its one summary line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class RefreshSummary:
    load_id: int | None = None
    objects_seen: int = 0
    objects_new: int = 0
    objects_failed: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    records_duplicate: int = 0
    facts_new: int = 0
    directory_loaded: bool = False
    seconds: float = 0.0
    # How long the live database was held for writing: the longest a reader can be kept waiting.
    commit_seconds: float = 0.0
    committed: bool = False
    alerts: int = 0
    notes: list[str] = field(default_factory=list)
    alert_rows: list[dict] = field(default_factory=list)
    # Control messages read and set aside (SNS subscription confirmations, SES's topic validation
    # test): neither loaded nor quarantined. Declared last so the summary line ends with it and
    # the keys before it keep their order.
    records_skipped: int = 0

    def line(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k not in ("notes", "alert_rows")}
        fields["seconds"] = f"{self.seconds:.2f}"
        fields["commit_seconds"] = f"{self.commit_seconds:.2f}"
        return " ".join(f"{k}={v}" for k, v in fields.items())
