"""The library's layers, read from the imports of every module under sparkify/ (imports inside functions too).

The run flows config -> inputs -> engine -> staging -> transforms -> checks ->
report; a module imports only its own layer and those below it, so following
the config down from etl.py never climbs back up. Provisioning (setup_cluster.py,
clean_redshift.py) is a branch of its own that nothing in the pipeline imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = {path.stem for path in REPO.glob("*.py")} - {"sql_queries"}  # sql_queries serves the library and the scripts

# Lowest first. checks comes before transforms in import order: the star-schema
# transaction runs its checks before it commits (sparkify/transforms.py).
LAYERS = [
    {"errors", "quoting", "progress", "stops", "secret_files", "schema"},
    {"config"},
    {"rules"},
    {"incremental"},
    {"aws"},  # runtime AWS: S3 listing and transfer, packing, credentials, error wording
    {"inputs"},
    {"engines"},
    {"reader"},
    {"staging"},
    {"checks"},
    {"transforms"},
    {"report"},
    {"pipeline"},
    {"cli", "analytics", "sample_data", "provision"},
]
# What an engine never imports: the input rules and where the input comes from are staging's; provisioning is the scripts'.
NOT_FOR_ENGINES = ("sparkify.rules", "sparkify.inputs", "sparkify.reader", "sparkify.provision", "sparkify.staging")


def modules() -> dict[str, Path]:
    """sparkify.x.y -> its file, for every module under sparkify/."""
    found = {}
    for path in sorted((REPO / "sparkify").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """Every module a file imports (``from sparkify import x`` counts as sparkify.x)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules())
    return found


def layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} is in no layer - add it to LAYERS in tests/test_layers.py")


def graph() -> dict[str, set[str]]:
    return {name: imports(name, path) for name, path in modules().items()}


def within(imported: str, prefixes) -> bool:
    return any(imported == prefix or imported.startswith(prefix + ".") for prefix in prefixes)


def test_every_module_has_a_layer():
    for module in modules():
        if module != "sparkify":
            layer(module)


def test_no_module_imports_a_layer_above_it():
    upward = sorted(
        f"{module} ({layer(module)}) imports {imported} ({layer(imported)})"
        for module, found in graph().items()
        if module != "sparkify"
        for imported in found
        if imported.startswith("sparkify.") and layer(imported) > layer(module)
    )
    assert upward == []


def test_engines_import_neither_the_input_rules_nor_provisioning_nor_staging():
    reached = sorted(
        f"{module} imports {imported}"
        for module, found in graph().items()
        if within(module, ["sparkify.engines"])
        for imported in found
        if within(imported, NOT_FOR_ENGINES)
    )
    assert reached == []


def test_runtime_aws_does_not_import_provisioning():
    reached = sorted(
        f"{module} imports {imported}"
        for module, found in graph().items()
        if within(module, ["sparkify.aws"])
        for imported in found
        if within(imported, ["sparkify.provision"])
    )
    assert reached == []


def test_only_the_scripts_import_provisioning():
    reached = sorted(
        f"{module} imports {imported}"
        for module, found in graph().items()
        if not within(module, ["sparkify.provision"])
        for imported in found
        if within(imported, ["sparkify.provision"])
    )
    assert reached == []


def test_nothing_in_the_library_imports_a_script():
    assert SCRIPTS >= {"etl", "create_tables", "setup_cluster", "clean_redshift"}
    reached = sorted(
        f"{module} imports {imported}"
        for module, found in graph().items()
        for imported in found
        if imported.split(".")[0] in SCRIPTS
    )
    assert reached == []


@pytest.mark.parametrize("source, found", [
    ("from sparkify import rules\n", {"sparkify", "sparkify.rules"}),
    ("def f():\n    from sparkify.provision import iam\n", {"sparkify.provision", "sparkify.provision.iam"}),
    ("from . import base\n", {"sparkify.engines", "sparkify.engines.base"}),
    ("import etl\n", {"etl"}),
])
def test_imports_are_read_inside_functions_and_relative_ones_resolved(tmp_path, source, found):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert imports("sparkify.engines.module", path) == found
