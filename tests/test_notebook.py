"""notebooks/analytics.ipynb: runs headless (nbclient) on a warehouse built here from
generated data, says what to run when there is none, and its committed copy
carries outputs but no machine paths or secrets.

The kernel is this interpreter (sys.executable) through a "python3" kernelspec
written to a temporary JUPYTER_PATH, so a python3 kernel installed elsewhere
on the machine can never be picked instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from helpers import PG_PASSWORD, REPO, generated_warehouse, raw_plays, write_config
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = REPO / "notebooks" / "analytics.ipynb"
QUESTIONS = 7  # the seven questions, one plot at least each
TIMEOUT = 120


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory) -> dict[str, str]:
    """Environment for the kernel: our python3 kernelspec first, Jupyter and IPython state in tmp."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "data" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }))
    return {
        "JUPYTER_PATH": str(root / "data"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "IPYTHONDIR": str(root / "ipython"),
    }


def execute(env: dict[str, str], notebook=None) -> nbformat.NotebookNode:
    """Run the notebook (a fresh copy unless given) from its own folder, as Jupyter would.

    Outputs land in the notebook cell by cell, so after a CellExecutionError it
    holds everything up to the failing cell."""
    notebook = notebook if notebook is not None else nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        client = NotebookClient(notebook, kernel_name="python3", timeout=TIMEOUT, startup_timeout=60,
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    return notebook


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook, kind: str | None = None) -> list:
    found = [output for cell in code_cells(notebook) for output in cell.get("outputs", [])]
    return [output for output in found if kind is None or kind in output.get("data", {})]


def stdout(notebook) -> str:
    return "".join(o.text for o in outputs(notebook) if o.output_type == "stream" and o.name == "stdout")


def assert_ran_top_to_bottom(notebook) -> None:
    cells = code_cells(notebook)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    errors = [o for o in outputs(notebook) if o.output_type == "error"]
    assert not errors, errors
    # no warnings either; a fresh machine's first matplotlib import announces its font cache, that one is fine
    warnings = [o.text for o in outputs(notebook) if o.output_type == "stream" and o.name == "stderr"]
    assert not [text for text in warnings if not text.startswith("Matplotlib is building the font cache")], warnings
    # every question's section draws at least one figure
    section, figures = None, {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and (heading := re.match(r"## (\d)\. ", cell.source)):
            section = int(heading.group(1))
        elif cell.cell_type == "code" and section:
            figures[section] = figures.get(section, 0) + sum("image/png" in o.get("data", {}) for o in cell.outputs)
    assert sorted(figures) == list(range(1, QUESTIONS + 1))
    assert all(count >= 1 for count in figures.values()), figures


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A small generated warehouse: (config file, NextSong events)."""
    root = tmp_path_factory.mktemp("notebook")
    config = generated_warehouse(root, events=1_500, songs=60, seed=9)
    return config, raw_plays(root / "input")


@pytest.fixture(scope="module")
def executed(warehouse, jupyter_env):
    return execute({**jupyter_env, "DWH_CONFIG": str(warehouse[0])})


def test_notebook_runs_top_to_bottom_on_the_configured_warehouse(executed, warehouse):
    assert_ran_top_to_bottom(executed)
    printed = stdout(executed)
    # it read the warehouse $DWH_CONFIG names, not the project's default one
    assert printed.startswith("engine duckdb, database warehouse.duckdb (dwh.cfg)\n")
    plays = warehouse[1]
    users = len({event["userId"] for event in plays})
    assert f"all plays: {len(plays):,} plays by {users:,} users" in printed


def test_notebook_draws_a_figure_per_question(executed):
    figures = outputs(executed, "image/png")
    assert len(figures) >= QUESTIONS
    for figure in figures:
        assert len(figure.data["image/png"]) > 5_000  # a drawn chart, not an empty canvas


def test_notebook_without_a_warehouse_says_what_to_run(tmp_path, jupyter_env):
    config = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DUCKDB_PATH": "nothing-here.duckdb"},
        "S3": {"LOG_DATA": "input/log_data", "SONG_DATA": "input/song_data"},
    })
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.raises(CellExecutionError):
        execute({**jupyter_env, "DWH_CONFIG": str(config)}, notebook)
    first_error = next(o for o in outputs(notebook) if o.output_type == "error")
    assert first_error.ename == "WarehouseUnavailable"
    # one line, no traceback
    assert first_error.traceback == [
        "WarehouseUnavailable: DuckDB database nothing-here.duckdb does not exist yet "
        "- run create_tables.py and etl.py"
    ]
    assert not (tmp_path / "nothing-here.duckdb").exists()


# ------------------------------------------------------------------ the committed notebook


@pytest.fixture(scope="module")
def committed():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_committed_notebook_is_saved_with_its_outputs(committed):
    nbformat.validate(committed)
    assert_ran_top_to_bottom(committed)
    assert len(outputs(committed, "image/png")) >= QUESTIONS
    # run on the default warehouse that `python create_tables.py && python etl.py` builds
    assert stdout(committed).startswith("engine duckdb, database sparkify.duckdb (built-in defaults)\n")
    assert committed.metadata.kernelspec.name == "python3"


def test_committed_notebook_carries_no_execution_timestamps(committed):
    """What `jupyter execute --inplace` writes into every cell (nbclient's record_timing): a diff per re-run.
    notebooks/execute.py, the documented way to re-run it, writes none."""
    stamped = [number for number, cell in enumerate(committed.cells) if "execution" in cell.get("metadata", {})]
    assert not stamped, f"cells {stamped} carry execution timestamps: re-run it with python notebooks/execute.py"
    # no other timestamp in a cell's metadata either (ISO 8601 date and time)
    metadata = json.dumps([cell.get("metadata", {}) for cell in committed.cells])
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", metadata), metadata[:500]


def test_the_documented_rerun_changes_no_cell_metadata(warehouse, jupyter_env, committed, tmp_path):
    """python notebooks/execute.py, as docs/analytics.md says: outputs written, cell metadata as committed."""
    output = tmp_path / "analytics.ipynb"
    env = {**os.environ, **jupyter_env, "DWH_CONFIG": str(warehouse[0])}
    result = subprocess.run([sys.executable, str(REPO / "notebooks" / "execute.py"), "--output", str(output)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rerun = nbformat.read(output, as_version=4)
    assert_ran_top_to_bottom(rerun)
    assert [cell.get("metadata", {}) for cell in rerun.cells] == [cell.get("metadata", {}) for cell in committed.cells]
    assert stdout(rerun).startswith("engine duckdb, database warehouse.duckdb (dwh.cfg)\n")
    assert "python notebooks/execute.py" in (REPO / "docs" / "analytics.md").read_text()


def test_the_rerun_without_a_warehouse_is_one_line_and_writes_nothing(tmp_path, jupyter_env):
    config = write_config(tmp_path / "dwh.cfg", {"DWH": {"DUCKDB_PATH": "nothing-here.duckdb"}})
    output = tmp_path / "out.ipynb"
    result = subprocess.run([sys.executable, str(REPO / "notebooks" / "execute.py"), "--output", str(output)],
                            env={**os.environ, **jupyter_env, "DWH_CONFIG": str(config)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: WarehouseUnavailable: DuckDB database nothing-here.duckdb does not exist yet "
        "- run create_tables.py and etl.py - the notebook was not written"
    )
    assert not output.exists()


def visible_text(notebook) -> str:
    """Everything a reader of the file sees: sources, text outputs, metadata (images left out)."""
    parts = [json.dumps(notebook.metadata)]
    for cell in notebook.cells:
        parts.append(cell.source)
        parts.append(json.dumps(cell.get("metadata", {})))
        for output in cell.get("outputs", []):
            data = {kind: value for kind, value in output.get("data", {}).items() if not kind.startswith("image/")}
            parts.append(json.dumps({**output, "data": data}))
    return "\n".join(parts)


def test_committed_notebook_shows_no_machine_paths_or_secrets(committed):
    text = visible_text(committed)
    paths = re.findall(r"(?:/work|/tmp|/root|/home|/Users|[A-Za-z]:\\\\)[^\s\"']*", text)
    assert not paths, paths
    assert not re.findall(r"(?:AKIA|ASIA)[0-9A-Z]{16}", text)  # AWS access key ids
    assert not re.search(r"aws_secret_access_key|aws_session_token", text, re.IGNORECASE)
    secrets = {PG_PASSWORD, os.environ.get("DWH_DB_PASSWORD"), os.environ.get("AWS_SECRET_ACCESS_KEY"),
               os.environ.get("AWS_ACCESS_KEY_ID")}
    for secret in filter(None, secrets):
        assert secret not in text


def test_notebook_imports_its_queries_from_the_project(committed):
    sources = "\n".join(cell.source for cell in code_cells(committed))
    assert "from sparkify import analytics" in sources
    assert not re.search(r"\bSELECT\s|\bFROM\s+(songplays|users|songs|artists|time)\b", sources, re.IGNORECASE)
    assert "load_config" not in sources  # the project's open_warehouse resolves the config, not a copy
    assert "sys.path" not in sources  # the project is installed: test_the_project_is_installed_from_this_checkout


def test_the_project_is_installed_from_this_checkout(tmp_path):
    """The kernel starts in notebooks/ and Streamlit wherever it is run: both import the project
    as installed by `pip install -r requirements-analytics.txt` (`-e .`), editable, from this folder."""
    found = subprocess.run(
        [sys.executable, "-I", "-c", "import sparkify, sql_queries; print(sparkify.__file__); print(sql_queries.__file__)"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert found.returncode == 0, f"run pip install -r requirements-analytics.txt in {REPO}: {found.stderr}"
    assert found.stdout.splitlines() == [str(REPO / "sparkify" / "__init__.py"), str(REPO / "sql_queries.py")], (
        f"the project is installed from another folder: run pip install -r requirements-analytics.txt in {REPO}"
    )
