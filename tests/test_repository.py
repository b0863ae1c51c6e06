"""The repository's own rules: the table of contents, clean notebooks, the course layout."""

from __future__ import annotations

import ast
import re
import sys
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


def lock_pins() -> dict[str, list[str]]:
    """The lock's pins, name -> versions (a universal lock may pin a name once per marker)."""
    pins: dict[str, list[str]] = {}
    for ln in (ROOT / "requirements.txt").read_text().splitlines():
        ln = ln.split(";")[0].strip()
        if ln and not ln.startswith(("#", "-e")):
            name, _, version = ln.partition("==")
            pins.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(version)
    return pins


def test_requirements_are_an_exact_universal_lock():
    text = (ROOT / "requirements.txt").read_text()
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert "-e ." in lines, "the lock installs the package itself (editable)"
    loose = [ln for ln in lines if ln != "-e ." and "==" not in ln.split(";")[0]]
    assert not loose, f"requirements.txt must pin exactly (==): {loose}"
    assert "make lock" in text and "--universal" in text, "requirements.txt comes from `make lock`"
    assert re.search(r"; python_full_version [<>]", text), "a universal lock marks per-version pins"
    pins = lock_pins()
    for needed in ["jupyter-book", "nbgrader", "jupyterlab", "ipywidgets", "ipympl", "matplotlib",
                   "numpy", "sympy", "scipy", "pytest", "nbval", "myst-nb", "sphinx", "build",
                   "uv"]:
        assert needed in pins, f"{needed} missing from requirements.txt"
    assert all(v.startswith("1.") for v in pins["jupyter-book"]), "the book uses Jupyter Book 1.x"
    assert len(pins["uv"]) == 1, "the Makefile bootstraps the one uv the lock pins"


def test_requirements_in_holds_ranges_not_pins():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.in").read_text().splitlines()]
    pinned = [ln for ln in lines if "==" in ln]
    assert not pinned, f"requirements.in holds ranges; the exact pins belong to the lock: {pinned}"
    assert "-e .[demos]" in lines


def test_pyproject_makefile_and_readme_agree_on_the_supported_pythons():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11"
    makefile = (ROOT / "Makefile").read_text()
    assert "sys.version_info < (3, 11)" in makefile and "3.11 or newer" in makefile
    assert "--python-version 3.11" in makefile, "the lock is resolved for every Python from 3.11"
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start"):readme.index("## Other targets")]
    assert "Python 3.11 or newer" in quick_start and "3.13" in quick_start
    assert "3.11.5" not in quick_start, "the universal lock has no patch-level floor"


def _workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def _runs(workflow: dict) -> list[str]:
    return [step.get("run", "") for job in workflow["jobs"].values()
            for step in job.get("steps", [])]


def test_ci_workflow_runs_ci_run_on_the_oldest_and_newest_python():
    ci = _workflow("ci.yml")
    (job,) = ci["jobs"].values()
    assert {"3.11", "3.13"} <= set(job["strategy"]["matrix"]["python-version"])
    assert "bash .ci/run" in _runs(ci)
    setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert setup and "matrix.python-version" in setup[0]["with"]["python-version"]


def test_pages_workflow_publishes_what_make_book_builds():
    pages = _workflow("pages.yml")
    assert "make book" in _runs(pages)
    uploads = [s for job in pages["jobs"].values() for s in job.get("steps", [])
               if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "_build/html" in readme


def test_launch_buttons_stay_off_until_a_repository_url_is_set():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = config.get("launch_buttons", {})
    on = [k for k in ("binderhub_url", "colab_url", "jupyterhub_url") if buttons.get(k)]
    url = (config.get("repository") or {}).get("url", "")
    assert not on or url.startswith("https://"), (
        f"launch buttons {on} need repository.url (a public repository) in _config.yml")


def test_the_assignments_page_offers_every_student_notebook():
    page = (ROOT / "book" / "assignments.md").read_text()
    for folder in sorted(p for p in (ROOT / "exercises").iterdir() if p.is_dir()):
        link = f"<../exercises/{folder.name}/{folder.name}.ipynb>"
        assert (folder / f"{folder.name}.ipynb").exists()
        assert link in page, f"book/assignments.md has no download link for {folder.name}"


def _names(requirements):
    return {re.split(r"[<>=!~ \[]", d)[0].lower() for d in requirements}


def test_package_metadata_keeps_the_demo_stack_an_extra():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _names(meta["dependencies"]) == {"numpy", "sympy"}  # the core and the exercises
    assert _names(meta["optional-dependencies"]["demos"]) == {"matplotlib", "ipywidgets",
                                                              "ipympl"}
    # the lock installs the extra, so the book, the tests and `make lab` have the demos
    assert "-e .[demos]" in (ROOT / "requirements.in").read_text().splitlines()
    core = {"numpy", "sympy", "mpmath"}  # mpmath comes with sympy
    core_files = [ROOT / "hessian_lab" / f"{module}.py" for module in (
        "curvature", "derivatives", "linesearch", "optimizers", "spectra", "problems", "models",
        "rates", "_checks", "_monitor")]
    grading_files = sorted((ROOT / "hessian_lab" / "grading").glob("*.py"))
    assert len(grading_files) > 1, "hessian_lab/grading/ is a package of several modules"
    for path in core_files + grading_files:
        module = path.relative_to(ROOT / "hessian_lab").with_suffix("").as_posix()
        if not path.exists():
            continue
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
        third_party = imported - core - set(sys.stdlib_module_names) - {"hessian_lab"}
        assert not third_party - {"__future__"}, (module, third_party)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme
    commands = [ln.strip() for ln in ci.splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")]
    assert commands[-1] == "make test"
    assert not any(c.startswith("make") and c != "make test" for c in commands)


def test_a_library_change_empties_the_books_execution_cache(tmp_path, monkeypatch):
    """The chapters' cached outputs follow hessian_lab, not only the chapters' own code."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import offline_site
    finally:
        sys.path.pop(0)
    library = tmp_path / "hessian_lab"
    (library / "demos").mkdir(parents=True)
    (library / "demos" / "_base.py").write_text("x = 1\n")
    monkeypatch.setattr(offline_site, "LIBRARY", library)

    class Config:
        nb_execution_cache_path = ""
        hessian_lab_digest = ""

    class App:
        outdir = str(tmp_path / "_build" / "html")

    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    (cache / "executed").write_text("old outputs")
    config = Config()
    offline_site._outputs_follow_the_library(App(), config)  # no stamp yet: emptied
    assert not cache.exists() and config.hessian_lab_digest == offline_site.library_digest()
    cache.mkdir()
    (cache / "executed").write_text("outputs")
    offline_site._outputs_follow_the_library(App(), config)  # library unchanged: kept
    assert (cache / "executed").exists()
    (library / "demos" / "_base.py").write_text("x = 2\n")  # a library edit
    offline_site._outputs_follow_the_library(App(), config)
    assert not cache.exists(), "the cache must be emptied when hessian_lab changes"
    assert config.hessian_lab_digest == offline_site.library_digest()


def test_every_public_module_of_the_library_is_on_the_api_page():
    api = (ROOT / "book" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"automodule:: hessian_lab\.(\w+)", api))
    public = {p.stem for p in (ROOT / "hessian_lab").glob("*.py") if not p.stem.startswith("_")}
    assert public <= documented, f"not on book/api.md: {sorted(public - documented)}"
