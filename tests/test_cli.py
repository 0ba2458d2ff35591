"""The scripts as a user runs them: options, exit codes, one-line errors, the fresh-clone path."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import REPO, build, event, free_port, play, run, song, table, write_config

import create_tables
import etl
import sql_queries as sql

SAMPLE = REPO / "data" / "sample"


def script(name: str, *argv, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a project script with this venv's python, the way a user does."""
    return subprocess.run(
        [sys.executable, str(REPO / name), *map(str, argv)],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )


def run_script(module, capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(module, *argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def duckdb_warehouse(inputs, tmp_path) -> Path:
    inputs.events([play("Song A", "Artist A", 200.0), event(userId="11", ts=1541105830900)])
    inputs.songs([song("SOAAA", "Song A", "ARA", "Artist A", 200.0)])
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": "warehouse.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })


class Terminal(io.StringIO):
    """A stdin that is a terminal, with the user's answer typed in."""

    def isatty(self) -> bool:
        return True


def row_counts(config: Path) -> dict[str, int]:
    return {name: len(table(config, name)) for name in sql.ALL_TABLES}


# ----------------------------------------------------------------- --help


@pytest.mark.parametrize(
    "name, options",
    [("create_tables.py", ["--config", "--yes", "--quiet"]), ("etl.py", ["--config", "--max-errors", "--quiet"])],
)
def test_help_lists_the_options(name, options):
    result = script(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {name} ")
    for option in options:
        assert option in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("module", [create_tables, etl], ids=["create_tables", "etl"])
def test_help_gives_the_config_order_the_scripts_use(module, capsys):
    # sparkify.config reads --config, then $DWH_CONFIG, then ./dwh.cfg (test_config
    # checks that $DWH_CONFIG wins over ./dwh.cfg); --help must say the same.
    with pytest.raises(SystemExit) as stopped:
        module.main(["--help"])
    assert stopped.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "$DWH_CONFIG" in text and "./dwh.cfg" in text
    assert text.index("$DWH_CONFIG") < text.index("./dwh.cfg"), text[text.index("--config PATH "):][:200]
    # then the project's dwh.cfg, then the defaults: sparkify.config.find_config's order
    project = str(REPO / "dwh.cfg")
    assert text.index("./dwh.cfg") < text.index(project) < text.index("the embedded DuckDB engine")


def test_create_tables_help_names_every_table_it_creates():
    shown = script("create_tables.py", "--help").stdout
    assert f"Drop and create the {len(sql.ALL_TABLES)} warehouse tables" in " ".join(shown.split())
    # one line per group, "  group: table, table"
    listing = shown[shown.index("per table):\n") : shown.index("\n\nWhen")].splitlines()[1:]
    listed = [table for line in listing for table in line.split(":", 1)[1].replace(",", " ").split()]
    assert sorted(listed) == sorted(sql.ALL_TABLES)


# ----------------------------------------------------------------- no abbreviations

# Every script with options, and the prefix a user could type for its riskiest one
# (argparse's default would take --full for --full-refresh, a rebuild, and --y for --yes).
SCRIPTS = {
    "etl.py": "--full",
    "create_tables.py": "--y",
    "setup_cluster.py": "--allow",
    "clean_redshift.py": "--delete",
    "generate_sample.py": "--even",
    "benchmark.py": "--size",
    "benchmark_ab.py": "--run",
    "benchmark_packing.py": "--work",
}
# What a script needs before an option is looked at (benchmark_ab.py's two versions and --data).
REQUIRED = {"benchmark_ab.py": (REPO, REPO, "--data", "bench")}


def test_every_script_with_options_is_listed():
    with_argparse = {path.name for path in REPO.glob("*.py") if "add_argument(" in path.read_text()}
    assert with_argparse == set(SCRIPTS)


@pytest.mark.parametrize("name, prefix", SCRIPTS.items(), ids=list(SCRIPTS))
def test_a_prefix_of_an_option_is_an_error(name, prefix, tmp_path):
    result = script(name, *REQUIRED.get(name, ()), prefix, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: {name} ")
    assert result.stderr.splitlines()[-1] == f"{name}: error: unrecognized arguments: {prefix}"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing ran


def long_options(name: str) -> list[str]:
    shown = script(name, "--help")
    assert shown.returncode == 0, shown.stderr
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", shown.stdout)) - {"--help"})


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_option_of_any_script_takes_a_prefix(name, capsys):
    module = __import__(name.removesuffix(".py"))
    options = long_options(name)
    assert SCRIPTS[name] not in options and any(option.startswith(SCRIPTS[name]) for option in options)
    for option in options:
        prefix = option[:-1]
        if prefix in options:
            continue
        with pytest.raises(SystemExit) as stopped:
            module.main([*map(str, REQUIRED.get(name, ())), prefix])
        assert stopped.value.code == 2, option
        assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: unrecognized arguments: {prefix}"), option


# ----------------------------------------------------------------- order and confirmation


@pytest.mark.parametrize("argv", [[], ["--dry-run"]], ids=["run", "dry run"])
def test_etl_before_create_tables_says_what_to_run_and_leaves_no_file(argv, duckdb_warehouse, capsys):
    code, out, err = run_script(etl, capsys, "--config", duckdb_warehouse, *argv)
    assert code == 1
    database = duckdb_warehouse.parent / "warehouse.duckdb"
    assert err.splitlines()[-1] == f"error: DuckDB database {database} does not exist yet - run create_tables.py first"
    assert "Traceback" not in err
    assert out == ""
    assert not database.exists()


def test_etl_before_create_tables_creates_no_folder_either(tmp_path):
    config = write_config(tmp_path / "dwh.cfg", {"DWH": {"DUCKDB_PATH": "warehouse/sparkify.duckdb"}})
    result = script("etl.py", "--config", config, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: DuckDB database {tmp_path / 'warehouse' / 'sparkify.duckdb'} does not exist yet "
        "- run create_tables.py first\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dwh.cfg"]


def test_etl_with_a_table_missing_says_what_to_run(duckdb_warehouse, capsys):
    assert run(create_tables, "--config", duckdb_warehouse, "--yes", "-q") == 0
    with duckdb.connect(str(duckdb_warehouse.parent / "warehouse.duckdb")) as con:
        con.execute("DROP TABLE staging_events")
    code, out, err = run_script(etl, capsys, "--config", duckdb_warehouse)
    assert code == 1
    assert err.splitlines()[-1] == (
        "error: table staging_events does not exist in the duckdb warehouse - run create_tables.py first"
    )


def test_create_tables_without_yes_asks_and_no_answer_means_no(duckdb_warehouse, capsys, monkeypatch):
    assert build(duckdb_warehouse) == 0
    before = row_counts(duckdb_warehouse)
    assert before["songplays"] == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # nothing to answer: a script, CI

    code, out, err = run_script(create_tables, capsys, "--config", duckdb_warehouse, "-q")

    assert code == 1
    question, refusal = err.splitlines()
    assert question.startswith("This drops songplays (1 rows), users (2 rows)")  # staging is empty after a run
    assert refusal == "Type 'yes' to continue: error: not confirmed - no table was dropped (answer yes, or pass --yes)"
    assert row_counts(duckdb_warehouse) == before


def test_create_tables_refuses_as_a_subprocess_without_a_terminal(duckdb_warehouse):
    assert build(duckdb_warehouse) == 0
    before = row_counts(duckdb_warehouse)

    result = script("create_tables.py", "--config", duckdb_warehouse)

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].endswith("error: not confirmed - no table was dropped (answer yes, or pass --yes)")
    assert "Traceback" not in result.stderr
    assert row_counts(duckdb_warehouse) == before


def test_create_tables_answered_no_changes_nothing(duckdb_warehouse, capsys, monkeypatch):
    assert build(duckdb_warehouse) == 0
    before = row_counts(duckdb_warehouse)
    monkeypatch.setattr("sys.stdin", Terminal("no\n"))

    code, out, err = run_script(create_tables, capsys, "--config", duckdb_warehouse, "-q")

    assert code == 1
    assert "Type 'yes' to continue" in err
    assert err.endswith("error: not confirmed - no table was dropped (answer yes, or pass --yes)\n")  # after the prompt
    assert row_counts(duckdb_warehouse) == before


def test_create_tables_answered_yes_recreates_empty_tables(duckdb_warehouse, capsys, monkeypatch):
    assert build(duckdb_warehouse) == 0
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))

    code, out, err = run_script(create_tables, capsys, "--config", duckdb_warehouse, "-q")

    assert code == 0
    assert row_counts(duckdb_warehouse) == {name: 0 for name in sql.ALL_TABLES}


def test_create_tables_on_empty_tables_does_not_ask(duckdb_warehouse, capsys, monkeypatch):
    assert run(create_tables, "--config", duckdb_warehouse, "--yes", "-q") == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))

    code, out, err = run_script(create_tables, capsys, "--config", duckdb_warehouse, "-q")

    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "tables created - now run etl.py"


# ----------------------------------------------------------------- bad options and unreachable servers


def test_negative_max_errors_is_a_usage_error():
    result = script("etl.py", "--max-errors", "-1")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "etl.py: error: --max-errors must be 0 or more"
    assert result.stderr.startswith("usage: etl.py ")
    assert result.stdout == ""


@pytest.mark.parametrize("module", [create_tables, etl], ids=["create_tables", "etl"])
def test_unreachable_postgres_is_one_line_naming_host_and_port(module, tmp_path, capsys, monkeypatch):
    port = free_port()  # nothing listens there any more
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "postgres"},
        "CLUSTER": {"HOST": "127.0.0.1", "DB_PORT": str(port), "DB_NAME": "sparkify", "DB_USER": "sparkify"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    monkeypatch.setenv("DWH_DB_PASSWORD", "not-used")

    code, out, err = run_script(module, capsys, "--config", config, "--yes" if module is create_tables else "-q")

    assert code == 1
    [message] = err.splitlines()
    assert message.startswith(f"error: cannot connect to postgres at 127.0.0.1:{port}/sparkify as sparkify: ")
    assert message.endswith(" - check [CLUSTER] HOST, DB_PORT, DB_NAME, DB_USER and DWH_DB_PASSWORD")
    assert "refused" in message.lower()
    assert "not-used" not in message


# ----------------------------------------------------------------- the fresh clone


def sample_counts(sample: Path) -> dict[str, int]:
    """What the bundled sample holds, counted with json.loads."""
    events = [
        json.loads(line)
        for path in sorted((sample / "log_data").rglob("*.json"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    songs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((sample / "song_data").rglob("*.json"))]
    return {
        "staging_events": len(events),
        "staging_songs": len(songs),
        "songplays": sum(1 for record in events if record["page"] == "NextSong"),
        "users": len({record["userId"] for record in events if record["userId"] not in ("", None)}),
        "songs": len({record["song_id"] for record in songs}),
    }


def summary_rows(stdout: str) -> dict[str, int]:
    return {
        name: int(count.replace(",", ""))
        for name, count in re.findall(r"^  (\w+)\s+([\d,]+) rows", stdout, re.MULTILINE)
    }


def test_fresh_clone_builds_the_bundled_sample(tmp_path):
    assert (SAMPLE / "log_data").is_dir() and (SAMPLE / "song_data").is_dir(), (
        f"the bundled sample {SAMPLE} is missing - generate it with generate_sample.py and commit it"
    )
    default_db = REPO / "sparkify.duckdb"
    default_before = default_db.stat().st_mtime_ns if default_db.exists() else None
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"ENGINE": "duckdb", "DUCKDB_PATH": str(tmp_path / "sparkify.duckdb")},
        "S3": {
            "LOG_DATA": str(SAMPLE / "log_data"),
            "SONG_DATA": str(SAMPLE / "song_data"),
            "LOG_JSONPATH": str(SAMPLE / "log_json_path.json"),
        },
    })
    empty = tmp_path / "clone"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("DWH_CONFIG", "DWH_DB_PASSWORD")}
    env["DWH_CONFIG"] = str(config)

    created = script("create_tables.py", "--yes", cwd=empty, env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1] == "tables created - now run etl.py"
    loaded = script("etl.py", cwd=empty, env=env)
    assert loaded.returncode == 0, loaded.stderr

    expected = sample_counts(SAMPLE)
    rows = summary_rows(loaded.stdout)
    assert {name: rows[name] for name in expected} == expected
    assert re.search(r"^  rejected\s+0 records", loaded.stdout, re.MULTILINE), loaded.stdout
    assert "Traceback" not in loaded.stderr
    assert (tmp_path / "sparkify.duckdb").exists()
    assert list(empty.iterdir()) == []  # nothing written into the current folder
    assert (default_db.stat().st_mtime_ns if default_db.exists() else None) == default_before


def test_a_config_naming_only_dwh_builds_the_bundled_sample_and_says_so(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    config = write_config(folder / "dwh.cfg", {"DWH": {"ENGINE": "duckdb"}})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("DWH_CONFIG", "DWH_DB_PASSWORD")}
    env["DWH_CONFIG"] = str(config)

    assert script("create_tables.py", "-q", cwd=elsewhere, env=env).returncode == 0
    loaded = script("etl.py", "-q", cwd=elsewhere, env=env)

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[0] == (
        f"Summary: engine duckdb, database {folder / 'sparkify.duckdb'} ({config}; [S3] built-in defaults)"
    )
    assert summary_rows(loaded.stdout)["staging_songs"] == sample_counts(SAMPLE)["staging_songs"]
    assert list(elsewhere.iterdir()) == []
