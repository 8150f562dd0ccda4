"""The README and docs/architecture.md name only what exists: files and folders, commands, models and
tests. No database: every check reads the tree and the argument parser."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from pipelines.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = (README, REPO / "docs" / "architecture.md")
MODEL = re.compile(r"\b(?:stg|int|fct|dim|mart)_[a-z0-9_]*[a-z0-9]\b")
# a path in backticks under a committed folder (data/ is generated: the database, the demo exports)
PATH = re.compile(r"^(?:\.ci|bench|docs|pages|pipelines|queries|tests)/[\w./*-]*$")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code_spans(text: str) -> list[str]:
    """Inline `code` outside fenced blocks."""
    return re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def _fences(text: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)


def _section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _subcommands() -> set[str]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return set(sub.choices)


@cache
def _tests_defined() -> dict[str, set[str]]:
    """Each test file (relative path) and the test functions it defines."""
    test_def = re.compile(r"^\s*(?:async )?def (test_\w+)\(", re.M)
    return {p.relative_to(REPO).as_posix(): set(test_def.findall(_text(p)))
            for p in (REPO / "tests").rglob("test_*.py")}


def test_the_two_opening_commands_run_real_files():
    app, tests = _fences(_text(README))[:2]
    assert re.findall(r"-r (\S+)", app) == ["requirements.txt"]
    assert re.findall(r"streamlit run (\S+)", app) == ["app.py"]
    assert tests.strip() == "bash .ci/run"
    ci = _text(REPO / ".ci" / "run")
    assert re.findall(r"-r (\S+)", ci) == ["requirements-dev.txt"]
    assert "--run-e2e" in ci and ".venv/bin/lint-imports" in ci
    for name in ("requirements.txt", "requirements-dev.txt", "app.py", ".ci/run"):
        assert (REPO / name).is_file(), name


def test_every_command_named_is_a_real_subcommand():
    text = _text(README)
    named = set(re.findall(r"python -m pipelines ([a-z][a-z-]*)", text))
    named |= set(re.findall(r"^\| `([a-z][a-z-]*)[ `]", _section(text, "The command line"), re.M))
    assert {"refresh", "demo", "status", "export", "rebuild"} <= named  # the patterns still find them
    assert named <= _subcommands(), f"not subcommands of `python -m pipelines`: {named - _subcommands()}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_model_named_exists(doc):
    schema = _text(REPO / "queries" / "ddl" / "schema.sql")
    schema_tables = set(re.findall(r"create table if not exists (\w+)", schema))
    named = {m.removesuffix("_for") for span in _code_spans(_text(doc)) for m in MODEL.findall(span)}
    assert "fct_recipient_outcomes" in named or doc.name != "README.md"
    missing = {name for name in named
               if not (REPO / "queries/models" / f"{name}.sql").is_file()
               and not (REPO / "queries/stage" / f"{name}.sql").is_file()
               and name not in schema_tables}
    assert not missing, f"{doc.name} names models that do not exist: {sorted(missing)}"


def test_the_data_model_lists_every_model():
    table = _section(_text(README), "The data model")
    listed = set(re.findall(r"^\| `(\w+)`", table, re.M))
    models = {p.stem for p in (REPO / "queries" / "models").glob("*.sql")}
    staged = {p.stem for p in (REPO / "queries" / "stage").glob("*.sql") if MODEL.fullmatch(p.stem)}
    assert models | staged <= listed, f"the data model leaves out {sorted((models | staged) - listed)}"


def test_every_test_cited_exists():
    text = _text(README)
    defined = _tests_defined()
    every = set().union(*defined.values())
    cited = re.findall(r"(tests/[\w/]+\.py)(?:::(test_\w+))?", text)
    assert cited
    for path, name in cited:
        assert path in defined, f"README cites {path}, which does not exist"
        assert not name or name in defined[path], f"README cites {path}::{name}, which does not exist"
    guarantees = _section(text, "The command line").split("### What a refresh guarantees", 1)[1]
    bare = set(re.findall(r"`(test_\w+)`", guarantees))
    assert bare
    assert bare <= every, f"README cites tests that do not exist: {sorted(bare - every)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_named_exists(doc):
    text = _text(doc)
    paths = {span for span in _code_spans(text) if PATH.match(span)}
    paths |= {link for link in re.findall(r"\]\(([^)#\s]+)", text) if "://" not in link}
    assert paths
    missing = {p for p in paths if "*" not in p and not (doc.parent / p).exists() and not (REPO / p).exists()}
    assert not missing, f"{doc.name} names paths that do not exist: {sorted(missing)}"


def test_the_layout_names_every_package_and_sql_folder_and_nothing_else():
    layout = _section(_text(README), "Layout")
    [block] = _fences(layout)
    entries = [line.split()[0] for line in block.splitlines() if line.strip()]
    for entry in entries:
        assert (REPO / entry).exists(), f"the Layout names {entry}, which does not exist"
    folders = {f"pipelines/{p.parent.name}/" for p in (REPO / "pipelines").glob("*/__init__.py")}
    folders |= {f"queries/{p.name}/" for p in (REPO / "queries").iterdir() if p.is_dir()}
    assert folders <= set(entries), f"the Layout leaves out {sorted(folders - set(entries))}"
    assert "docs/architecture.md" in layout
