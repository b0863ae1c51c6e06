"""The repository's own rules: the table of contents, clean notebooks, the course layout."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, load_notebook

NOTEBOOK_DIRS = ["book", "solutions", "exercises"]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            for key in ("chapters", "sections", "parts"):
                if key in entry:
                    walk(entry[key])

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return files


def resolve(stem: str) -> Path | None:
    for ext in (".ipynb", ".md"):
        p = ROOT / (stem + ext)
        if p.exists():
            return p
    return None


def committed_notebooks() -> list[Path]:
    out = []
    for d in NOTEBOOK_DIRS:
        out += [
            p for p in (ROOT / d).rglob("*.ipynb")
            if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
        ]
    return sorted(out)


def test_every_toc_entry_exists():
    missing = [f for f in toc_files() if resolve(f) is None]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"


def test_every_page_under_book_is_in_the_toc():
    listed = {resolve(f) for f in toc_files()}
    pages = {p for p in (ROOT / "book").rglob("*") if p.suffix in (".ipynb", ".md")
             and ".ipynb_checkpoints" not in p.parts}
    unlisted = sorted(str(p.relative_to(ROOT)) for p in pages - listed)
    assert not unlisted, f"pages under book/ missing from _toc.yml: {unlisted}"


def test_toc_lists_each_file_once():
    files = toc_files()
    dupes = {f for f in files if files.count(f) > 1}
    assert not dupes, f"_toc.yml lists these more than once: {dupes}"


def test_there_is_at_least_one_chapter_notebook():
    assert any(p.suffix == ".ipynb" for p in map(resolve, toc_files()) if p)


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_have_no_outputs(path):
    nb = load_notebook(path)
    dirty = [
        i for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them"
    )


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_chapter_starts_with_a_hidden_setup_cell(path):
    nb = load_notebook(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "code", f"{path.name}: first cell should be the set-up code cell"
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), (
        f"{path.name}: the set-up cell must be tagged remove-cell"
    )
    assert "use_book_style" in "".join(first["source"]), f"{path.name}: set-up must set the style"


def test_notebook_checker_catches_outputs(tmp_path):
    """The output check above is not vacuous: a notebook with an output is flagged."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.execution_count = 1
    result = nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    cell.outputs = [result]
    nb.cells.append(cell)
    p = tmp_path / "dirty.ipynb"
    nbformat.write(nb, p)
    with pytest.raises(AssertionError, match="outputs"):
        test_committed_notebooks_have_no_outputs(p)


def test_nbgrader_config_points_at_the_course_folders():
    text = (ROOT / "nbgrader_config.py").read_text()
    assert re.search(r'source_directory\s*=\s*"solutions"', text)
    assert re.search(r'release_directory\s*=\s*"exercises"', text)


def test_grading_artefacts_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    for name in ["submitted/", "autograded/", "feedback/", "gradebook.db", ".venv/", "_build/"]:
        assert name in ignored, f"{name} should be in .gitignore"


def test_requirements_are_an_exact_lock():
    lines = [
        ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert "-e ." in lines
    loose = [ln for ln in lines if ln != "-e ." and "==" not in ln]
    assert not loose, f"requirements.txt must pin exactly (==): {loose}"
    pinned = {ln.split("==")[0].lower() for ln in lines if "==" in ln}
    for needed in ["jupyter-book", "nbgrader", "jupyterlab", "ipywidgets", "ipympl", "matplotlib",
                   "numpy", "sympy", "scipy", "pytest", "nbval", "myst-nb", "sphinx"]:
        assert needed in pinned, f"{needed} missing from requirements.txt"
    jb = next(ln for ln in lines if ln.lower().startswith("jupyter-book=="))
    assert jb.split("==")[1].startswith("1."), "the book is built with Jupyter Book 1.x"


def test_package_metadata_declares_runtime_dependencies():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[<>=!~ ]", d)[0].lower() for d in meta["dependencies"]}
    assert {"numpy", "sympy", "matplotlib", "ipywidgets", "ipympl"} <= deps


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme
