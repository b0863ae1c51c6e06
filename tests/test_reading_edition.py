"""The reading edition (book/_ext/lab_edition.py) and the student's workspace (make lab).

The converter's rules are tested on small pages with a hand-made resolver; the edition the site
build wrote is then checked against the sources and the site: no MyST syntax left, every glued
number present, the site's equation numbers, links that resolve, hidden checks that still run.
The rendering in a real JupyterLab is in tests/test_reading_lab.py.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, load_notebook

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import lab_edition as le  # noqa: E402

from hessian_lab.course import workspace  # noqa: E402

EDITION = ROOT / "_build" / "lab"

#: What must never reach a reader: roles, directive fences, labels and directive options.
RAW_MYST = re.compile(r"\{[a-z]+(?::[a-z]+)?\}`|^\s*:{3,}|^\s*`{3,}\{|^\s*\([\w-]+\)=\s*$"
                      r"|^\s*:(?:label|class|pyobject|header-rows):", re.M)
FENCED = re.compile(r"^(\s*)(`{3,}|~{3,}).*?^\1\2\s*$", re.M | re.S)
GLUE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::([^`]*))?`")


def _glue(value: str) -> dict:
    return {"data": {"text/plain": value}, "output_type": "display_data"}


def _resolver() -> le.Resolver:
    r = le.Resolver()
    r.titles = {"book/a": "Chapter A", "book/b": "Chapter B", "book/glossary": "Glossary",
                "book/bibliography": "Bibliography"}
    r.labels = {"ch-b": le.Target("book/b", "ch-b", "Chapter B"),
                "sec-a": le.Target("book/a", "sec-a", "A section"),
                "erratum-x": le.Target("book/errata", "erratum-x")}
    r.terms = {"hessian": le.Target("book/glossary", "term-Hessian")}
    r.equations = {"eq-one": le.Target("book/a", "equation-eq-one", "3.1"),
                   "eq-far": le.Target("book/b", "equation-eq-far", "4.2")}
    r.numbered = {"book/a": {"exercise": [("ex-a-1", "3.1"), ("ex-a-2", "3.2")],
                             "theorem": [("thm-a", "3.1")]}}
    r.objects = {"ex-a-1": ("book/a", "exercise"), "ex-a-2": ("book/a", "exercise"),
                 "thm-a": ("book/a", "prf:theorem")}
    r.citations = {"nw06": ("NW06", "Nocedal and Wright. Numerical Optimization.", "Nocedal "
                            "and Wright")}
    r.glue = {"book/a": {"k": _glue("2508.0096"), "n": _glue("7"),
                         "m": {"data": {"text/markdown": "$2.33\\times 10^{6}$",
                                        "text/plain": "<Markdown>"}}}}
    return r


def convert(text: str, docname: str = "book/a") -> str:
    return le.PageConverter(docname, _resolver(), ROOT / "book").convert(text)


def test_glued_values_are_formatted_as_myst_nb_formats_them():
    out = convert("kappa = {glue:text}`k:.0f`, n = {glue:text}`n`, big {glue:md}`m:myst`.")
    assert out == "kappa = 2508, n = 7, big $2.33\\times 10^{6}$."


def test_references_terms_equations_and_citations_become_links():
    out = convert("See {ref}`ch-b`, {ref}`this part <sec-a>`, the {term}`Hessian`, "
                  "{eq}`eq-one`, {eq}`eq-far`, {ref}`the row <erratum-x>` and {cite}`nw06`.")
    assert "[Chapter B](b.ipynb#ch-b)" in out
    assert "[this part](#sec-a)" in out
    assert "[Hessian](glossary.ipynb#term-Hessian)" in out
    assert "[(3.1)](#equation-eq-one)" in out and "[(4.2)](b.ipynb#equation-eq-far)" in out
    assert "[the row](errata.ipynb#erratum-x)" in out
    assert "\\[[NW06](bibliography.ipynb#cite-nw06)\\]" in out
    assert not RAW_MYST.search(out)


def test_code_spans_and_code_blocks_are_left_alone():
    text = "Write `{term}` roles like ``{term}`x` ``.\n\n```python\n{ref}`not-a-ref`\n```"
    assert convert(text) == text


def test_labels_become_anchors_and_equations_keep_their_numbers():
    out = convert("(sec-a)=\n## A section\n\n$$\nx = 1\n$$ (eq-one)\n\nand $$y$$ inline.")
    assert out.startswith('## <a id="sec-a"></a>A section')
    assert '<a id="equation-eq-one"></a>' in out and "\\tag{3.1}" in out
    assert out.count("$$") == 4 and "(eq-one)" not in out


def test_exercises_are_boxes_and_solutions_are_folded():
    text = (":::{exercise}\n:label: ex-a-1\n\nWhat is {glue:text}`n`?\n:::\n\n"
            ":::{solution} ex-a-1\n:class: dropdown\n\nIt is {glue:text}`n`.\n:::\n")
    out = convert(text)
    assert '<a id="ex-a-1"></a>**Exercise 3.1**' in out and "What is 7?" in out
    folded = out[out.index("<details>"):]
    assert "<summary>Solution to Exercise 3.1</summary>" in folded
    assert "It is 7." in folded and folded.rstrip().endswith("</details>")
    assert ":label:" not in out and ":class:" not in out


def test_theorems_proofs_and_nested_admonitions():
    text = (":::::{important}\nOuter.\n\n::::{prf:theorem} Name with $x$\n:label: thm-a\n\n"
            "Body.\n::::\n:::::\n\n:::{prf:proof}\nBecause.\n:::")
    out = convert(text)
    assert '<div class="alert alert-block alert-warning">' in out and "**Important**" in out
    assert '**Theorem 3.1** (Name with $x$)' in out
    assert "*Proof.*" in out and "Because. $\\square$" in out
    assert out.count("<div") == out.count("</div>") == 2


def test_a_list_table_becomes_a_pipe_table_with_anchors():
    text = (":::{list-table}\n:header-rows: 1\n\n* - Where\n  - What\n* - (erratum-x)=\n"
            "    3\n  - a $|x|$ claim | with a bar\n:::")
    out = convert(text, "book/errata")
    assert "| Where | What |" in out
    assert '<a id="erratum-x"></a>3' in out and "with a bar" in out
    assert "claim \\| with" in out


def test_anything_unknown_fails_naming_the_page_and_the_construct():
    with pytest.raises(le.ConversionError, match=r"book/a: unknown role \{foo\}"):
        convert("a {foo}`bar` b")
    with pytest.raises(le.ConversionError, match=r"unknown directive \{dropdown\}"):
        convert(":::{dropdown}\nx\n:::")
    with pytest.raises(le.ConversionError, match=r"glue key 'nope'"):
        convert("{glue:text}`nope:.1f`")
    with pytest.raises(le.ConversionError, match=r"unknown label 'ch-zzz'"):
        convert("{ref}`ch-zzz`")
    with pytest.raises(le.ConversionError, match="not in the glossary"):
        convert("{term}`curvature tensor`")
    with pytest.raises(le.ConversionError, match="never closed"):
        convert(":::{note}\nopen")


def test_reading_outputs_keep_a_demos_printed_form_and_drop_glue_records():
    demo = {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                     "text/html": "<div>scrubber</div>", "image/png": "iVBORw0K",
                     "text/plain": "Demo(...)"}}
    hint, printed = le._reading_output(demo)
    assert "Run this cell" in hint["data"]["text/markdown"]
    assert set(printed["data"]) == {"image/png", "text/plain"}
    record = {"output_type": "display_data", "metadata": {},
              "data": {"application/papermill.record/text/plain": "3.0"}}
    assert le._reading_output(record) == []


# -- the workspace ----------------------------------------------------------------------

def _edition(tmp_path: Path, version: str) -> Path:
    edition = tmp_path / f"edition-{version}"
    (edition / "book").mkdir(parents=True, exist_ok=True)
    (edition / "START_HERE.ipynb").write_text(f"start {version}")
    (edition / "book" / "01.ipynb").write_text(f"chapter one {version}")
    (edition / "book" / "02.ipynb").write_text(f"chapter two {version}")
    return edition


def test_a_page_converts_to_the_same_notebook_at_every_build(tmp_path):
    """No random cell ids: an unchanged page gives a byte-identical notebook, so a build does
    not rewrite the edition and `make lab` leaves a student's edited copies alone."""
    page = tmp_path / "a.md"
    page.write_text("# A page\n\nSome text.\n\n## A section\n\nMore text.\n", encoding="utf-8")
    notebook = tmp_path / "b.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# B", id="own-id"),
                nbformat.v4.new_code_cell("x = 1", id="code-id")]
    nbformat.write(nb, notebook)
    for source in (page, notebook):
        first, second = (nbformat.writes(le.reading_notebook("book/a", source, _resolver()))
                         for _ in range(2))
        assert first == second
    ids = [c["id"] for c in le.reading_notebook("book/a", notebook, _resolver()).cells]
    assert ids == ["own-id", "code-id"]                   # a source cell keeps its own
    ids = [c["id"] for c in le.reading_notebook("book/a", page, _resolver()).cells]
    assert ids == ["reading-000", "reading-001"]          # a made cell is named by its place


def test_the_workspace_never_overwrites_what_a_student_changed(tmp_path):
    space = tmp_path / "space"
    exercises = tmp_path / "exercises"
    (exercises / "01_x").mkdir(parents=True)
    (exercises / "01_x" / "01_x.ipynb").write_text("exercise")
    first = workspace.sync(_edition(tmp_path, "v1"), space, exercises)
    assert sorted(first.copied) == ["START_HERE.ipynb", "book/01.ipynb", "book/02.ipynb",
                                    "exercises/01_x/01_x.ipynb"]
    (space / "book" / "01.ipynb").write_text("my notes on chapter one")
    (space / "exercises" / "01_x" / "01_x.ipynb").write_text("my answers")
    second = workspace.sync(_edition(tmp_path, "v2"), space, exercises)
    assert (space / "book" / "01.ipynb").read_text() == "my notes on chapter one"
    assert (space / "book" / "01.new.ipynb").read_text() == "chapter one v2"
    assert (space / "book" / "02.ipynb").read_text() == "chapter two v2"   # not edited
    assert (space / "exercises" / "01_x" / "01_x.ipynb").read_text() == "my answers"
    assert not (space / "exercises" / "01_x" / "01_x.new.ipynb").exists()   # nothing new
    assert second.kept == ["book/01.ipynb"] and second.updated == ["START_HERE.ipynb",
                                                                   "book/02.ipynb"]
    assert any("kept your edited book/01.ipynb" in line for line in second.lines())
    (space / "book" / "02.ipynb").unlink()            # deleted by the student: copied again
    third = workspace.sync(_edition(tmp_path, "v2"), space, exercises)
    assert third.copied == ["book/02.ipynb"] and third.kept == ["book/01.ipynb"]


def test_the_workspace_explains_a_missing_edition_and_a_broken_manifest(tmp_path, capsys):
    args = type("A", (), {"edition": str(tmp_path / "none"), "into": str(tmp_path / "s"),
                          "exercises": None})
    assert workspace.run(args) == 1
    assert "build the book first" in capsys.readouterr().out
    space = tmp_path / "s"
    (space / workspace.MANIFEST).parent.mkdir(parents=True)
    (space / workspace.MANIFEST).write_text("{not json")
    with pytest.raises(RuntimeError, match="unreadable"):
        workspace.sync(_edition(tmp_path, "v1"), space)


# -- the edition the site build wrote ---------------------------------------------------------

def _pages() -> list[Path]:
    return sorted(p for p in (ROOT / "book").iterdir()
                  if p.suffix in (".ipynb", ".md") and p.stem not in ("api",))


@pytest.fixture(scope="module")
def edition(site) -> Path:
    return EDITION


def _markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


@pytest.mark.slow
def test_every_page_has_a_reading_notebook_without_myst_syntax(edition):
    assert (edition / "START_HERE.ipynb").is_file()
    found = []
    for page in _pages():
        path = edition / "book" / f"{page.stem}.ipynb"
        assert path.is_file(), f"no reading notebook for {page.name}"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for source in _markdown(nb):
            prose = FENCED.sub("", source)
            for match in RAW_MYST.finditer(prose):
                found.append(f"{page.name}: {prose[max(0, match.start() - 40):match.end() + 40]!r}")
    assert not found, "MyST syntax in the reading edition:\n" + "\n".join(found[:20])


@pytest.mark.slow
def test_every_glued_number_of_every_chapter_is_in_its_reading_notebook(edition):
    checked, missing = 0, []
    for page in _pages():
        glue_file = ROOT / "_build" / "jupyter_execute" / "book" / f"{page.stem}.glue.json"
        if page.suffix != ".ipynb" or not glue_file.exists():
            continue
        data = json.loads(glue_file.read_text(encoding="utf-8"))
        source = "\n".join("".join(c["source"]) for c in load_notebook(page)["cells"]
                           if c["cell_type"] == "markdown")
        reading = "\n".join(_markdown(nbformat.read(edition / "book" / f"{page.stem}.ipynb", 4)))
        for key, spec in GLUE.findall(source):
            value = data[key]["data"]["text/plain"]
            shown = format(ast.literal_eval(value), spec) if spec else value.strip("'\"")
            checked += 1
            if shown not in reading:
                missing.append(f"{page.stem}::{key} = {value!r}, expected {shown!r}")
    assert checked > 400, f"only {checked} glued numbers found"
    assert not missing, "glued numbers missing:\n" + "\n".join(missing[:20])


@pytest.mark.slow
def test_equation_numbers_are_the_sites(edition, site):
    compared = 0
    for page in _pages():
        html = site / "book" / f"{page.stem}.html"
        if page.suffix != ".ipynb" or not html.exists():
            continue
        site_numbers = re.findall(r'class="eqno">\(([\d.]+)\)', html.read_text(encoding="utf-8"))
        nb = nbformat.read(edition / "book" / f"{page.stem}.ipynb", 4)
        tags = re.findall(r"\\tag\{([\d.]+)\}", "\n".join(_markdown(nb)))
        assert tags == site_numbers, page.name
        compared += len(tags)
    assert compared > 50


@pytest.mark.slow
def test_links_between_reading_notebooks_resolve(edition):
    anchors, links = {}, []
    for path in sorted((edition / "book").glob("*.ipynb")):
        text = "\n".join(_markdown(nbformat.read(path, 4)))
        anchors[path.name] = set(re.findall(r'<a id="([^"]+)"></a>', text))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            links.append((path.name, target))
    broken = []
    for source, target in links:
        if target.startswith(("http://", "https://")):
            continue
        name, _, anchor = target.partition("#")
        if name.startswith("../exercises/"):
            if not (ROOT / "exercises" / name[len("../exercises/"):]).is_file():
                broken.append(f"{source}: {target}")
            continue
        name = name or source
        if name not in anchors or (anchor and anchor not in anchors[name]):
            broken.append(f"{source}: {target}")
    assert len(links) > 300
    assert not broken, "links that go nowhere:\n" + "\n".join(broken[:20])


@pytest.mark.slow
def test_code_is_the_sources_and_checks_are_collapsed_not_removed(edition):
    for page in _pages():
        if page.suffix != ".ipynb":
            continue
        source = nbformat.read(page, 4)
        reading = nbformat.read(edition / "book" / f"{page.stem}.ipynb", 4)
        code = [c for c in source.cells if c.cell_type == "code"]
        read_code = [c for c in reading.cells if c.cell_type == "code"]
        assert [c.source for c in code] == [c.source for c in read_code], page.name
        for original, cell in zip(code, read_code, strict=True):
            tags = original.metadata.get("tags", [])
            if "remove-cell" in tags or "hide-input" in tags:
                assert cell.metadata["jupyter"]["source_hidden"] is True
                if "remove-cell" in tags:
                    assert cell.outputs == []
            else:
                assert not cell.metadata.get("jupyter", {}).get("source_hidden")
