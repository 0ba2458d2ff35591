"""The documentation stays true to the code: the module map names every module, and the README stays short."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def mapped_modules(text: str) -> set[str]:
    """The files docs/architecture.md's module map names, as paths: a line ending its first word
    in '/' opens a folder for the lines indented below it; a line's leading *.py words are files."""
    block = text.split("## Module map", 1)[1].split("```")[1]
    folders: list[tuple[int, str]] = []
    found: set[str] = set()
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        indent = len(line) - len(line.lstrip())
        while folders and folders[-1][0] >= indent:
            folders.pop()
        prefix = "".join(f"{name}/" for _, name in folders)
        if words[0].endswith("/"):
            folders.append((indent, words[0].rstrip("/")))
            continue
        for word in words:
            if not word.endswith(".py"):
                break  # the description begins
            found.add(prefix + word)
    return found


def test_module_map_names_every_module_and_nothing_else():
    mapped = mapped_modules((REPO / "docs" / "architecture.md").read_text())
    modules = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "sparkify").rglob("*.py")
        if path.name != "__init__.py" or path.parent.name in ("analytics", "sample_data")
    }
    assert sorted(modules - mapped) == [], "modules missing from docs/architecture.md's module map"
    assert sorted(m for m in mapped if m.startswith("sparkify/") and m not in modules) == [], "map names modules that do not exist"


def test_module_map_parser_reads_folders_and_files():
    text = "## Module map\n```\nsparkify/\n  a.py   one\n  sub/   a folder\n    b.py  c.py  two files\n  d.py  back up\n```\n"
    assert mapped_modules(text) == {"sparkify/a.py", "sparkify/sub/b.py", "sparkify/sub/c.py", "sparkify/d.py"}


def test_readme_is_a_short_page_with_links_that_resolve():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    for page in ("daily-runs", "data-rules", "redshift", "configuration", "analytics", "performance", "architecture"):
        assert f"(docs/{page}.md)" in readme
        assert (REPO / "docs" / f"{page}.md").is_file()
