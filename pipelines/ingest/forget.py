"""Erasure: remove one address from every table and every raw object (a privacy request).

Runs under the refresh lock in one transaction. Raw objects that mention the address are
rewritten without the records (or mails) that mention it, as new files of the raw store; the old
files are removed once the erasure has committed. The audit row records when and how
much was removed, never the address itself.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from pipelines import warehouse
from pipelines.ingest import bounce_logs, objects
from pipelines.warehouse import catalog, raw_store

# Tables whose rows are about one recipient, and the column naming it.
_ROW_TABLES = {
    "fct_recipient_events": "recipient",
    "fct_recipient_outcomes": "recipient",
    "fct_address_facts": "recipient",
    "fct_address_grams": "address",
    "dir_users": "email",
}


@dataclass
class Erasure:
    rows: dict[str, int]
    objects_rewritten: int
    records_removed: int
    quarantine_rows: int


def forget(db_path: Path, address: str, wait_seconds: float = 60.0) -> Erasure:
    address = address.strip().lower()
    if "@" not in address or len(address) < 3:
        raise ValueError(f"not an email address: {address!r}")
    needle = address.encode()
    with warehouse.refresh_lock(db_path, wait_seconds), warehouse.writer(db_path) as con:
        catalog.create_schema(con)
        con.execute("begin transaction")
        try:
            catalog.run_script(con, "forget/erased_days.sql", {"address": address})
            con.execute("set variable touched_recipients = [?]", [address])
            catalog.run_script(con, "commit/touched_addresses.sql")
            catalog.run_script(con, "commit/domain_totals_out.sql")
            rows = {}
            for table, column in _ROW_TABLES.items():
                rows[table] = con.execute(
                    f"delete from {table} where lower({column}) = ?", [address]).fetchall()[0][0]
            catalog.run_script(con, "commit/domain_totals_in.sql")
            catalog.refresh_send_days(con)
            quarantined = con.execute(catalog.sql("forget/quarantine.sql"), {"address": address}
                                      ).fetchall()[0][0]
            store = raw_store.folder(db_path)
            raw_store.move_out(con, store)  # a file from before the store
            rewritten = removed = 0
            for load_id, source, key, sha256 in con.execute(
                "select load_id, source, object_key, sha256 from raw_objects").fetchall():
                data = raw_store.get(store, sha256)
                if needle not in data.lower() and not objects.is_gzip(data):
                    continue
                plain = objects.decompress(data, 2 * 1024**3) if objects.is_gzip(data) else data
                if needle not in plain.lower():
                    continue
                kept, dropped = _without(plain, needle)
                new = gzip.compress(kept) if objects.is_gzip(data) else kept
                con.execute(
                    "update raw_objects set sha256 = ?, size_bytes = ? "
                    "where load_id = ? and source = ? and object_key = ?",
                    [raw_store.put(store, new), len(new), load_id, source, key],
                )
                rewritten += 1
                removed += dropped
            catalog.run_script(con, "forget/record_erasure.sql", {
                "rows_deleted": sum(rows.values()), "quarantine_rows": quarantined,
                "objects_rewritten": rewritten, "records_removed": removed,
            })
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        # Once committed, no row points at the objects as they were: their files go, and with them
        # any object of a failed run that was never recorded (it may hold the address too).
        referenced = {r[0] for r in con.execute("select distinct sha256 from raw_objects").fetchall()}
        raw_store.sweep(store, referenced)
    return Erasure(rows, rewritten, removed, quarantined)


def _without(plain: bytes, needle: bytes) -> tuple[bytes, int]:
    """The object without the records (SES JSON, CSV rows) or mails that mention `needle`."""
    kind = bounce_logs.kind_of(plain)
    if kind == "mail":
        mails = bounce_logs.mails_in(plain)
        kept = [m for m in mails if needle not in m.lower()]
        if plain.lstrip().startswith(b"From "):
            return b"".join(b"From bouncedesk\n" + m for m in kept), len(mails) - len(kept)
        return (kept[0] if kept else b""), len(mails) - len(kept)
    if kind == "csv":
        lines = plain.splitlines(keepends=True)
        kept = lines[:1] + [line for line in lines[1:] if needle not in line.lower()]
        return b"".join(kept), len(lines) - len(kept)
    # SES JSON: the records that do not mention it, one per line. Parts that never parsed were
    # quarantined when loaded and cannot be rebuilt into facts; they are not carried over.
    good, bad = objects.split_records(plain)
    kept_records = [r.text for r in good if needle.decode() not in r.text.lower()]
    body = "\n".join(kept_records).encode("utf-8") + (b"\n" if kept_records else b"")
    return body, len(good) - len(kept_records) + len(bad)
