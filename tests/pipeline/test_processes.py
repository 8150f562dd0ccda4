"""Refresh as separate processes: killed mid-run, run twice at once, read while it writes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines import warehouse
from tests import sesdata as ses

REPO = Path(__file__).resolve().parents[2]


def state(db: Path) -> list[tuple]:
    """Counts by event type and portal, the manifest and raw sizes, and the aggregate tables' totals:
    what a half load would disturb."""
    with warehouse.reader(db) as con:
        facts = con.execute(
            "select event_type, coalesce(portal_id, '-'), count(*) from fct_recipient_events "
            "group by all order by all"
        ).fetchall()
        objects = con.execute("select count(*) from _ingest_objects").fetchall()
        raw = con.execute("select count(*) from raw_objects").fetchall()
        aggregates = con.execute(
            "select (select count(*) from fct_recipient_outcomes where sent), "
            "(select count(*) from fct_recipient_outcomes where hard_bounced), "
            "(select sum(sends) from fct_address_facts), (select sum(bounces) from fct_address_facts)"
        ).fetchall()
    return facts + objects + raw + aggregates


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines", *args],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def write_batch(folder: Path, start: int, objects: int, per_object: int) -> None:
    for o in range(start, start + objects):
        recs = []
        for i in range(per_object):
            mid = f"m{o:03d}-{i:05d}"
            to = f"user{i}@d{i % 50}.example"
            portal = f"p{i % 7}"
            recs.append(ses.send(mid, to, "2026-11-20T10:00:00Z", portal=portal))
            recs.append(ses.delivery(mid, to, "2026-11-20T10:00:00Z", "2026-11-20T10:00:03Z", portal))
        ses.write_object(folder, f"2026/11/20/{o % 24:02d}/obj-{o:03d}", recs)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A loaded base (6 objects) and 6 new objects; `after` is the state a full refresh reaches."""
    root = tmp_path_factory.mktemp("proc")
    src = root / "ses"
    write_batch(src, 0, 6, 1500)
    base = root / "base.duckdb"
    assert cli("refresh", "--source", str(src), "--db", str(base), "-q").wait() == 0
    write_batch(src, 6, 6, 1500)
    full = root / "full.duckdb"
    shutil.copy(base, full)
    started = time.monotonic()
    assert cli("refresh", "--source", str(src), "--db", str(full), "-q").wait() == 0
    seconds = time.monotonic() - started
    return {"src": src, "base": base, "before": state(base), "after": state(full), "seconds": seconds}


def _crash_trials(dataset, tmp_path, trials: int, seed: int) -> None:
    rng = random.Random(seed)
    outcomes = {"before": 0, "after": 0}
    for t in range(trials):
        db = tmp_path / f"trial{t}.duckdb"
        shutil.copy(dataset["base"], db)
        proc = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q")
        time.sleep(rng.uniform(0.0, dataset["seconds"]))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        seen = state(db)  # the file opens, and holds one complete state or the other
        assert seen in (dataset["before"], dataset["after"]), f"trial {t}: half a load is visible"
        outcomes["before" if seen == dataset["before"] else "after"] += 1
        done = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q")
        assert done.wait() == 0, done.stderr.read()
        assert state(db) == dataset["after"], f"trial {t}: the next refresh did not reach the totals"
    print("crash outcomes", outcomes, "full refresh seconds", round(dataset["seconds"], 2))
    assert sum(outcomes.values()) == trials


def test_kill_9_at_random_moments_leaves_a_whole_state(dataset, tmp_path):
    _crash_trials(dataset, tmp_path, trials=5, seed=1)


@pytest.mark.slow
def test_kill_9_fifty_trials(dataset, tmp_path):
    _crash_trials(dataset, tmp_path, trials=50, seed=2)


def test_two_refreshes_at_once_one_loads_the_other_exits_cleanly(dataset, tmp_path):
    db = tmp_path / "two.duckdb"
    shutil.copy(dataset["base"], db)
    a = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q")
    b = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q")
    codes = sorted([a.wait(), b.wait()])
    loser_err = (a if a.returncode else b).stderr.read()
    # Either the second found the lock (exit 75 with a message) or it ran after and found nothing new.
    assert codes in ([0, 0], [0, 75])
    if codes == [0, 75]:
        assert "another refresh is running" in loser_err
    assert state(db) == dataset["after"]


def test_waiting_refresh_queues_behind_the_running_one(dataset, tmp_path):
    db = tmp_path / "wait.duckdb"
    shutil.copy(dataset["base"], db)
    # Both wait: on a busy machine the second process can reach the lock first (a head start of 0.3 s
    # does not order two interpreters' start-up), and then the first is the one that queues.
    a = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q", "--wait", "120")
    time.sleep(0.3)
    b = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q", "--wait", "120")
    assert a.wait() == 0 and b.wait() == 0
    assert "objects_new=0" in b.stdout.read() or state(db) == dataset["after"]
    assert state(db) == dataset["after"]


def test_reader_in_a_loop_never_errs_nor_sees_half_a_load(dataset, tmp_path):
    db = tmp_path / "read.duckdb"
    shutil.copy(dataset["base"], db)
    seen: list[list[tuple]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                seen.append(state(db))
            except BaseException as exc:
                errors.append(exc)

    reader = threading.Thread(target=loop)
    reader.start()
    try:
        proc = cli("refresh", "--source", str(dataset["src"]), "--db", str(db), "-q")
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert len(seen) > 3
    assert all(s in (dataset["before"], dataset["after"]) for s in seen)
    assert seen[-1] == dataset["after"]


def test_readers_open_at_once_share_the_file_and_the_last_to_close_releases_it(tmp_path):
    # Readers attach the file to one in-memory instance per process: a second reader must not attach
    # it again, the first one's close must not detach it under the second, and once both are closed
    # another process can write and the next reader sees what it wrote.
    db = tmp_path / "r.duckdb"
    with warehouse.writer(db) as con:
        con.execute("create table t as select 1 as x")
    write = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
             "c.execute('insert into t values (2)'); c.close()")
    with warehouse.reader(db, views=False) as first:
        with warehouse.reader(db, views=False) as second:
            assert second.execute("select x from t").fetchall() == [(1,)]
        assert first.execute("select x from t").fetchall() == [(1,)]
        assert subprocess.run([sys.executable, "-c", write, str(db)], capture_output=True).returncode != 0
    subprocess.run([sys.executable, "-c", write, str(db)], check=True)
    with warehouse.reader(db, views=False) as con:
        assert con.execute("select x from t order by x").fetchall() == [(1,), (2,)]
