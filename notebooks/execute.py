"""Re-run notebooks/analytics.ipynb headless and save it with its outputs.

What `jupyter execute --inplace` does, without the execution timestamps that
nbclient writes into every cell's metadata by default (record_timing, which
`jupyter execute` cannot turn off): with them each re-run was a diff of the
whole committed notebook. The kernel starts in the notebook's folder, as
Jupyter's would, and reads the warehouse the scripts resolve ($DWH_CONFIG,
./dwh.cfg, the project's dwh.cfg, the built-in defaults).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK = Path(__file__).resolve().parent / "analytics.ipynb"
TIMEOUT = 600  # seconds per cell: the questions on a large warehouse


def execute(path: Path, output: Path | None = None) -> None:
    """Run every cell of the notebook at path and write it, outputs and all, to output (default: in place)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=TIMEOUT, record_timing=False, resources={"metadata": {"path": str(path.resolve().parent)}}
    )
    client.execute()
    nbformat.write(notebook, output or path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)
    p.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK,
                   help="the notebook to run (default: notebooks/analytics.ipynb)")
    p.add_argument("--output", type=Path, metavar="PATH", help="write the run notebook here instead of in place")
    args = p.parse_args(argv)
    try:
        execute(args.notebook, args.output)
    except CellExecutionError as exc:
        # e.g. "WarehouseUnavailable: DuckDB database sparkify.duckdb does not exist yet - run create_tables.py ..."
        print(f"error: {exc.ename}: {exc.evalue} - the notebook was not written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
