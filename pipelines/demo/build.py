"""The bundled demo: a seeded, realistic SES bounce history for a multi-portal LMS, and its loader.

`python -m pipelines demo` writes, under `data/demo/` by default:

- `ses/YYYY/MM/DD/HH/bouncedesk-demo-1-YYYY-MM-DD-HH-MM-SS-<uuid>.gz`: SES event-publishing records
  (Send, Delivery, Bounce, Complaint, Reject, DeliveryDelay, Open, Click) as Kinesis Firehose writes
  them: one gzip object per hour of event time (split past 4 MB), records concatenated without a
  delimiter in most objects and one per line in some; a few gzip objects have no `.gz`.
- `ses/sns/YYYY/MM/DD/HH/ses-feedback-*.json`: SES bounce/complaint *notifications* in their SNS
  envelope (no tags), saved from the feedback queue during an event-destination outage.
- `directory/portals.csv`, `users.csv`, `batches.csv`: the LMS directory export.
- `demo.json`: the parameters, counts and situation ids; `.bouncedesk-demo`: marks the folder as ours.

and loads it into a fresh database with `pipelines.ingest.refresh.refresh`.

Same seed, sends, portals, days and end: same bytes. `end` defaults to the current UTC hour, so
the demo always looks fresh; the window is the `days` before it (default 60).

Situations planted on purpose. Portal ids are fixed (any --portals >= 12 has them); the figures
below are measured from the loaded facts at the default size (100,000 sends, 50 portals, 60 days)
and `tests/pipeline/test_demo_load.py` checks them at 3,000 sends, 12 portals, 20 days. `build_demo` wants
at least 1,000 sends and 10 days; `write_ses_exports` takes any size (e.g. a benchmark's extra hour).

1. Over the cutoff: **p004** ("Bluefin Logistics Academy"). ~8 days before `end` it uploaded an
   unverified CRM export (`contacts_export_FULL_<date>.csv`, batch kind "bad") of about 0.75x its
   usual 30-day volume; 35 % of those addresses are dead (user unknown, plus a few typo domains and
   two placeholders), so its invitations hard-bounce and its 30-day hard-bounce rate lands at ~15 %.
   The SaaS switched its mail off ~26 h after the upload: no sends since, `email_enabled` false.
2. Approaching: **p011** ("Northwind Academy (EU)", sub-portal of p010). A partner import ~18 days
   before `end` (`partner_import_<date>.csv`), 0.4x its 30-day volume, 22 % dead: 30-day rate ~6-7 %.
   Its parent p010 alone is healthy; rolled up with p011 and p012 it is not.
3. Typo domains: `outlookk.com`, `gmial.com`, `yaho.com`, `hotmial.com`, `gmail.con`: hard bounces
   5.1.2 "Host or domain name not found" / 5.4.4 "Unable to route". Guaranteed in the p004 and p011
   batches; also scattered (older ones already on the account suppression list) and one unattributed.
4. Placeholders: **p012** ("Northwind Academy (EU) Onboarding", sub-portal of p011) was set up inside
   the window and its admin created test@example.com, user1@test.com and learner1@example.com (hard
   bounces, example.com is null-MX 5.1.10); p004's bad batch holds noreply@example.org and
   asdf@asdf.com. Older placeholders (test@test.com, admin@example.com, ...) in other portals are
   already suppressed (Permanent/OnAccountSuppressionList).
5. Corporate domain rejecting content: `contoso-corp.com`, whose employees (~6 % of the learners)
   learn in p002, p005, p006, p009, p015 and p021. Since ~24 days before `end` its gateway refuses
   ~65 % of our mail (~120 rejections at the default size):
   Transient/ContentRejected 5.7.1 "Message content rejected by policy" (and ~15 % of them
   Permanent/General 5.7.1, which then suppresses the address).
6. Full mailboxes: ~0.35 % of older addresses are always full (DeliveryDelay MailboxFull, then a
   Transient/MailboxFull bounce 5.2.2 or 4.2.2 hours later, every time: 3+ consecutive soft bounces
   for those mailed often), ~1 % sometimes.
7. Complaints: ~0.05 % of deliveries overall (abuse reports, 20 % without a feedback report);
   **p008** ("Riverside Care Training") sends mostly reminders and gets ~0.25 %. A complaint puts
   the address on the account suppression list.
8. Stale accounts: most portals' first upload is 2-4 years old. Those learners' addresses die more
   often: hard bounces "5.2.1 ... disabled" or user unknown "(account closed)"; 2 % of them bounced
   before the window and sit on the account suppression list (60 % of those are deactivated).
9. Unattributed: a handful of billing mails (no portal_id / upload_batch_id tags) to addresses that
   are not in the directory; two of those addresses hard-bounce.

Realism besides: a baseline hard-bounce rate of ~0.5-2 % per portal (addresses die at a steady,
per-portal rate), ~96 % of recipients delivered; after a hard bounce every later send to the
address is a Permanent/OnAccountSuppressionList bounce, unless the LMS stopped mailing the learner
(it does for 60 % of them; their accounts stay active in the directory); one Send per message,
~3 % of enrolment/purchase mails with a second recipient; Undetermined, out-of-office
(Transient/General after a Delivery), AttachmentRejected, MessageTooLarge and global-list
(Permanent/Suppressed) bounces; Reject ("Bad content") rarely; delayed deliveries; opens and clicks.
Feed defects: ~0.03 % of records delivered twice (at least one, in a later object); exactly one
gzip object whose last record is cut mid-JSON (its full copy follows in the next object); about 1 %
of bounces and complaints only as SNS notifications (a ~14-hour outage ~48 days before `end`,
longer in small demos so that it catches some). `write_ses_exports(..., defects=False)` leaves out
the duplicates and the truncated object.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.demo import ses as demo_ses
from pipelines.demo import world as demo_world
from pipelines.demo.world import (
    APPROACHING_PORTAL,
    COMPLAINT_PORTAL,
    CORPORATE_DOMAIN,
    CORPORATE_PORTALS,
    NEW_SUBPORTAL,
    OVER_CUTOFF_PORTAL,
    PARENT_PORTAL,
    PLACEHOLDER_ADDRESSES,
    TYPO_DOMAINS,
    World,
)

if TYPE_CHECKING:
    from pipelines.ingest.summary import RefreshSummary

__all__ = [
    "APPROACHING_PORTAL", "COMPLAINT_PORTAL", "CORPORATE_DOMAIN", "CORPORATE_PORTALS", "MARKER",
    "NEW_SUBPORTAL", "OVER_CUTOFF_PORTAL", "PARENT_PORTAL", "PLACEHOLDER_ADDRESSES", "TYPO_DOMAINS",
    "build_demo", "build_world", "default_end", "write_directory", "write_ses_exports",
]

MARKER = ".bouncedesk-demo"


def default_end() -> datetime:
    """The current UTC hour, truncated: the demo's data ends there."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _end_ms(end: datetime | None) -> int:
    end = end or default_end()
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return int(end.timestamp() * 1000)


def build_world(*, sends: int = 100_000, portals: int = 50, days: int = 60, seed: int = 7,
                end: datetime | None = None) -> World:
    """Portals, learners, addresses and upload batches; deterministic for the same arguments."""
    return demo_world.build_world(sends=sends, portals=portals, days=days, seed=seed, end_ms=_end_ms(end))


def write_ses_exports(out_dir: Path, *, sends: int = 100_000, portals: int = 50, days: int = 60,
                      seed: int = 7, end: datetime | None = None, world: World | None = None,
                      defects: bool = True) -> dict:
    """Write the SES exports (Firehose layout) under `out_dir`; returns counts.

    Keys: sends, objects, firehose_objects, sns_objects, records, notifications, duplicates,
    bytes (on disk), raw_bytes (uncompressed), truncated_object (its key or None) and events
    (per type). `defects=False` leaves out the redelivered records and the truncated object.
    Any size works here (portals >= 12); `build_demo` asks for enough to show the situations.
    """
    if world is None:
        world = build_world(sends=sends, portals=portals, days=days, seed=seed, end=end)
    return demo_ses.write_exports(world, Path(out_dir), defects)


def write_directory(out_dir: Path, *, sends: int = 100_000, portals: int = 50, days: int = 60,
                    seed: int = 7, end: datetime | None = None, world: World | None = None) -> dict:
    """Write portals.csv, users.csv and batches.csv under `out_dir`; returns row counts."""
    if world is None:
        world = build_world(sends=sends, portals=portals, days=days, seed=seed, end=end)
    return demo_world.write_directory_csvs(world, Path(out_dir))


def _prepare(out: Path) -> None:
    """Empty `out` for a new demo, but only if it is empty or one of ours."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise ValueError(
                f"--out {out}: folder is not empty and was not written by the demo (no {MARKER} file); "
                "refusing to delete it. Choose an empty or new folder."
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by `python -m pipelines demo`; safe to delete\n", encoding="utf-8")


def build_demo(out: Path, db: Path, *, sends: int = 100_000, portals: int = 50, days: int = 60,
               seed: int = 7, load: bool = True, quiet: bool = False,
               end: datetime | None = None) -> RefreshSummary | None:
    """(Re)write the demo exports under `out` and, if `load`, load them into a fresh database `db`."""
    out, db = Path(out), Path(db)
    demo_world.validate(sends, portals, days)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    started = time.monotonic()
    _prepare(out)
    say(f"generating {sends:,} sends for {portals} portals over {days} days ...")
    world = build_world(sends=sends, portals=portals, days=days, seed=seed, end=end)
    directory = write_directory(out / "directory", world=world)
    counts = write_ses_exports(out / "ses", world=world)
    say(f"wrote {counts['objects']:,} objects, {counts['records']:,} records "
        f"({counts['bytes'] / 1e6:,.1f} MB gzip) and {directory['users']:,} learners "
        f"in {time.monotonic() - started:.1f}s")
    info = {
        "seed": seed, "sends": sends, "portals": portals, "days": days,
        "end": datetime.fromtimestamp(world.end_ms / 1000, UTC).isoformat().replace("+00:00", "Z"),
        "directory": directory, "ses": counts,
        "situations": {
            "over_cutoff": OVER_CUTOFF_PORTAL, "approaching": APPROACHING_PORTAL,
            "new_subportal_placeholders": NEW_SUBPORTAL, "parent": PARENT_PORTAL,
            "complaints": COMPLAINT_PORTAL, "corporate_domain": CORPORATE_DOMAIN,
            "corporate_portals": list(CORPORATE_PORTALS), "typo_domains": sorted(TYPO_DOMAINS),
            "bad_batch": next(b.batch_id for b in world.batches if b.kind == "bad"),
            "approaching_batch": next(b.batch_id for b in world.batches if b.kind == "approaching"),
        },
    }
    (out / "demo.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if not load:
        return None
    from pipelines.ingest.refresh import refresh
    from pipelines.ingest.sources import LocalSource

    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    say(f"loading into {db} ...")
    return refresh(db, [LocalSource(out / "ses")], directory=out / "directory", quiet=quiet)
