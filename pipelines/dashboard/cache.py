"""`@page_data`: how every number reaches a page. One decorator, so there is one path from page to number.

A page-data function is written to take an open connection first (`def portal_summary(con, portal_id,
...)`); decorated, a page calls it without one (`data.portal_summary(portal_id="p004")`). The call
opens a short-lived reader, and the result is cached with `st.cache_data` under the database path,
`warehouse.version` of the file (it changes whenever a refresh commits, so a refresh shows without a
restart), the function and its arguments. A busy, missing or outdated database stops the page with
a message instead of a traceback. Results must be picklable (polars frames, dicts, frozen dataclasses).

Inside `one_reader()` (app.py wraps each page run in it) the calls that miss the cache share one
reader, opened on the first miss and closed when the run ends: a cold page pays for opening the file
once, not once per number; a warm page opens nothing.

`fn.__wrapped__` is the undecorated function, for callers holding their own connection (the
benchmark, tests).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Concatenate, NoReturn, ParamSpec, TypeVar

import duckdb
import streamlit as st

from pipelines import warehouse
from pipelines.config import resolve_db_path
from pipelines.warehouse import catalog

P = ParamSpec("P")
R = TypeVar("R")


def db_path() -> Path:
    """The database the app shows: `$BOUNCEDESK_DB`, else data/bouncedesk.duckdb."""
    return resolve_db_path()


class _SharedReader:
    """The reader of one page run, for one version of one file."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._key: tuple[str, tuple[int, int]] | None = None
        self._con = None

    def get(self, db: str, version: tuple[int, int]):
        # A refresh that commits mid-run changes the version: the rest of the run reads the new file,
        # so nothing computed on the old one is cached under the new version.
        if self._key != (db, version):
            self.close()
            self._con = self._stack.enter_context(warehouse.reader(Path(db)))
            self._key = (db, version)
        return self._con

    def close(self) -> None:
        self._stack.close()
        self._stack, self._key, self._con = ExitStack(), None, None


# Streamlit runs each session's script in its own thread: one shared reader per running page.
_run = threading.local()


@contextmanager
def one_reader() -> Iterator[None]:
    """Page calls made inside share one reader, opened on the first cache miss, closed on exit."""
    shared = _SharedReader()
    _run.reader = shared
    try:
        yield
    finally:
        _run.reader = None
        shared.close()


def page_data(fn: Callable[Concatenate[Any, P], R]) -> Callable[P, R]:
    """Make `fn(con, **kwargs)` a page call `fn(**kwargs)`: its own reader, cached until the next refresh."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        raise TypeError(f"@page_data {fn.__qualname__}: the first parameter must be the connection")
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"@page_data {fn.__qualname__}: name every parameter (no *args / **kwargs)")
    page_signature = signature.replace(parameters=params[1:])
    code = _code_digest(fn)

    def cached(db: str, version: tuple[int, int], code: str, arguments: tuple[tuple[str, Any], ...]) -> R:
        shared: _SharedReader | None = getattr(_run, "reader", None)
        if shared is not None:
            return _outdated_said(fn, shared.get(db, version), db, dict(arguments))
        with warehouse.reader(Path(db)) as con:
            return _outdated_said(fn, con, db, dict(arguments))

    # st.cache_data keys a function's cache on its module and qualified name: one cache per function.
    cached.__module__, cached.__qualname__ = fn.__module__, f"{fn.__qualname__}.<page_data>"
    cached_call = st.cache_data(show_spinner=False, max_entries=256)(cached)

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = page_signature.bind(*args, **kwargs)
        bound.apply_defaults()  # f(x) and f(x, rollup=False) share one cache entry
        db = db_path()
        try:
            return cached_call(str(db), warehouse.version(db), code, tuple(bound.arguments.items()))
        except (warehouse.DatabaseBusy, warehouse.DatabaseMissing, warehouse.DatabaseOutdated) as exc:
            stop_with_message(exc)

    call.__signature__ = page_signature  # type: ignore[attr-defined]  # help() and editors: no `con`
    call.clear = cached_call.clear  # type: ignore[attr-defined]
    return call


def _outdated_said(fn: Callable, con, db: str, arguments: dict) -> Any:
    """`fn(con, **arguments)`; a read of a table or column this code added, on a file an older release
    wrote, is DatabaseOutdated (one refresh adds it), not a traceback. On a current file it is a bug."""
    try:
        return fn(con, **arguments)
    except (duckdb.CatalogException, duckdb.BinderException) as exc:
        if catalog.models_current(con):
            raise
        raise warehouse.DatabaseOutdated(
            f"{db} was written by an older bouncedesk and lacks what this page reads: run "
            "`python -m pipelines refresh` once to bring it up to date (nothing is lost)") from exc


def _code_digest(fn: Callable) -> str:
    """Part of the cache key, so an edited function does not serve what its old code computed."""
    try:
        code: bytes = inspect.getsource(fn).encode()
    except (OSError, TypeError):  # no source file (a function typed into a REPL)
        code = fn.__code__.co_code
    return hashlib.sha256(code).hexdigest()


def stop_with_message(exc: Exception) -> NoReturn:
    """A busy, missing or outdated database: say so and stop the page (no traceback)."""
    if isinstance(exc, warehouse.DatabaseBusy):
        st.warning("A refresh is committing new data right now. Reload the page in a few seconds.")
    elif isinstance(exc, warehouse.DatabaseMissing):
        st.info("No database yet: run `python -m pipelines demo` or `python -m pipelines refresh`.")
    else:
        st.warning(str(exc))
    st.stop()
