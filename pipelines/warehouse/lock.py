"""The refresh lock: one writer at a time for a database, whatever process it runs in."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RefreshLocked(RuntimeError):
    """Another refresh holds the lock."""


@contextmanager
def refresh_lock(db_path: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Advisory lock next to the database; the OS releases it if the holder dies."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db_path.with_name(db_path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise RefreshLocked(
                        f"another refresh is running (pid {holder}); this one exits without "
                        "changes. Rerun later, or pass --wait SECONDS to queue behind it."
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
