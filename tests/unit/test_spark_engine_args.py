"""The Spark engine's arguments are checked before any JVM starts: no lake, or a folder that holds no
lake this release wrote, is a usage error (exit 2) that says what to run."""

from __future__ import annotations

import json

from pipelines import cli


def test_engine_spark_needs_a_lake(capsys):
    assert cli.main(["status", "--engine", "spark"]) == cli.EXIT_USAGE
    assert "--engine spark needs --lake DIR" in capsys.readouterr().err


def test_a_folder_without_a_manifest_says_to_export_first(tmp_path, capsys):
    assert cli.main(["status", "--engine", "spark", "--lake", str(tmp_path)]) == cli.EXIT_USAGE
    assert f"lake export --to {tmp_path}" in capsys.readouterr().err
    (tmp_path / "_manifest.json").write_text(json.dumps({"format": "another tool", "version": 9}))
    assert cli.main(["export", "bounced", "--portal", "p1", "--out", str(tmp_path / "x.csv"),
                     "--engine", "spark", "--lake", str(tmp_path)]) == cli.EXIT_USAGE
    assert "no lake manifest this release reads" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_lake_marts_needs_a_lake_a_duckdb_target_and_an_exported_lake(tmp_path, capsys):
    lake, csv, target = str(tmp_path), str(tmp_path / "m.csv"), str(tmp_path / "m.duckdb")
    assert cli.main(["lake", "marts", "--to", target]) == cli.EXIT_USAGE
    assert "lake marts needs --lake" in capsys.readouterr().err
    assert cli.main(["lake", "marts", "--lake", lake, "--to", csv]) == cli.EXIT_USAGE
    assert "--to FILE.duckdb" in capsys.readouterr().err
    assert cli.main(["lake", "marts", "--lake", lake, "--to", target]) == cli.EXIT_USAGE
    assert f"lake export --to {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "m.duckdb").exists()
