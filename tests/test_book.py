"""The book builds with warnings as errors, executing every chapter once, and reads right.

The build runs every chapter notebook, so a failing cell, a hidden assertion that
disagrees with the prose, a broken cross-reference or a stray warning on stderr all
fail this module. The site is built once per session into _build/html (execution is
cached per notebook, so `make book` afterwards does not re-run unchanged chapters).
"""

from __future__ import annotations

import re
import shutil
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT, build_book
from test_repository import toc_files

# Every test here builds a book (or reads the site built once): not in `make test-fast`.
pytestmark = pytest.mark.slow


class _Text(HTMLParser):
    """Collects visible text, image tags and element ids of an HTML page."""

    def __init__(self):
        super().__init__()
        self.parts, self.images, self.ids, self._skip = [], [], set(), 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def page(site: Path, stem: str) -> _Text:
    parser = _Text()
    parser.feed((site / f"{stem}.html").read_text(encoding="utf-8"))
    return parser


def test_every_toc_page_is_built(site):
    missing = [f for f in toc_files() if not (site / f"{f}.html").exists()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"


def test_index_opens_to_the_preface(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "book/preface.html" in index, "index.html should redirect to the preface"
    preface = page(site, "book/preface").text
    assert "Curvature Lab" in preface and "Who it is for" in preface


def test_nothing_outside_the_toc_is_built(site):
    for stray in ["README.html", "solutions", "exercises", "tests"]:
        assert not (site / stray).exists(), f"{stray} should not be part of the site"


def test_chapter_one_shows_glued_numbers_figures_and_exercises(site):
    ch = page(site, "book/01_one_variable")
    text = ch.text
    # glued values appear in the prose (no unresolved glue roles left behind)
    assert "glue:" not in text
    assert "minimum" in text and "maximum" in text
    assert "it is 6.2000" in text, "the glued ratio at h = 0.1 should appear in the prose"
    assert "is a local minimum" in text and "is a local maximum" in text
    # the figures are rendered images with alt text
    figures = [img for img in ch.images if img.get("src", "").endswith(".png")]
    assert len(figures) >= 2, "chapter 1 should show its figures"
    assert all(img.get("alt") for img in figures), "every figure needs alt text"
    for img in figures:
        assert (site / "book" / img["src"]).resolve().exists(), f"missing image {img['src']}"
    # exercises with solutions in dropdowns
    html = (site / "book/01_one_variable.html").read_text(encoding="utf-8")
    assert html.count('class="admonition exercise') >= 2 or html.count("exercise") >= 4
    assert "dropdown" in html


def test_hidden_cells_are_not_shown(site):
    html = (site / "book/01_one_variable.html").read_text(encoding="utf-8")
    assert "assert " not in html, "cells tagged remove-cell must not appear in the site"
    assert "use_book_style" not in html


def test_a_failing_hidden_assertion_fails_the_build(tmp_path):
    """The mechanism that keeps prose and computation in step really fails the build."""
    book = tmp_path / "mini"
    book.mkdir()
    (book / "_config.yml").write_text(
        "title: mini\nexecute:\n  execute_notebooks: force\n  allow_errors: false\n"
        "sphinx:\n  config:\n    nb_execution_raise_on_error: true\n"
    )
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python"
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Mini\n\nThe answer is 5."),
        nbformat.v4.new_code_cell(
            "assert 2 + 2 == 5, 'prose and computation disagree'",
            metadata={"tags": ["remove-cell"]},
        ),
    ]
    nbformat.write(nb, book / "intro.ipynb")
    proc = build_book(book)
    assert proc.returncode != 0
    assert "prose and computation disagree" in proc.stdout + proc.stderr
    shutil.rmtree(book / "_build", ignore_errors=True)


def test_a_broken_reference_fails_the_build(tmp_path):
    book = tmp_path / "mini"
    book.mkdir()
    (book / "_config.yml").write_text("title: mini\nexecute:\n  execute_notebooks: off\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (book / "intro.md").write_text(textwrap.dedent("""\
        # Mini

        See {ref}`no-such-label`.
        """))
    proc = build_book(book)
    assert proc.returncode != 0


def test_every_internal_link_and_anchor_resolves(site):
    """Links between pages (and to anchors inside them) point at something that exists."""
    from urllib.parse import unquote, urlsplit

    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts]
    ids: dict[Path, set[str]] = {}

    def ids_of(path: Path) -> set[str]:
        if path not in ids:
            parser = _Text()
            parser.feed(path.read_text(encoding="utf-8"))
            ids[path] = parser.ids
        return ids[path]

    class _Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "a" and a.get("href"):
                self.hrefs.append(a["href"])

    broken, checked = [], 0
    for page_path in pages:
        parser = _Links()
        parser.feed(page_path.read_text(encoding="utf-8"))
        for href in parser.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = page_path if not parts.path else (page_path.parent / unquote(parts.path))
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{page_path.relative_to(site)} -> {href} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in ids_of(target):
                    broken.append(f"{page_path.relative_to(site)} -> {href} (no such anchor)")
    assert checked > 50, f"only {checked} internal links found; is the site complete?"
    assert not broken, "broken internal links:\n" + "\n".join(broken[:40])


def test_no_page_shows_an_error_or_stderr_output(site):
    """A cell that raised (say, inside a figure) or wrote to stderr is never shown to readers.

    The warnings-as-errors build catches most of these; this checks what was rendered.
    """
    bad = {}
    for stem in toc_files():
        html = (site / f"{stem}.html").read_text(encoding="utf-8")
        found = re.findall(r'class="output (?:traceback|stderr)', html)
        if found or "Traceback (most recent call last)" in html:
            bad[stem] = len(found) or 1
    assert not bad, f"error or stderr outputs rendered on: {bad}"


def test_a_traceback_in_a_cell_would_be_caught(tmp_path):
    """The check above sees a rendered error output (so it can fail)."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: t
        execute:
          execute_notebooks: force
          allow_errors: true
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (book / "index.md").write_text(textwrap.dedent("""\
        ---
        file_format: mystnb
        kernelspec:
          name: python3
          display_name: Python 3
        ---
        # Page

        ```{code-cell} python
        1 / 0
        ```
        """))
    build_book(book)
    html = (book / "_build" / "html" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'class="output (?:traceback|stderr)', html)


def test_no_page_carries_widget_views_or_state(site):
    """Live widgets need a kernel: the site has only the demos' static forms."""
    carrying = [stem for stem in toc_files()
                if "application/vnd.jupyter.widget-"
                in (site / f"{stem}.html").read_text(encoding="utf-8")]
    assert not carrying, f"widget views or state in: {carrying}"
    demo_pages = [stem for stem in toc_files()
                  if 'class="hl-demo"' in (site / f"{stem}.html").read_text(encoding="utf-8")]
    assert len(demo_pages) >= 6, demo_pages


def test_the_assignments_page_offers_each_student_notebook_as_a_download(site):
    """Students who do not clone download the notebooks nbgrader generated, byte for byte."""
    html = (site / "book/assignments.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*_downloads/[^"]+\.ipynb)"', html)
    folders = sorted(p for p in (ROOT / "exercises").iterdir() if p.is_dir())
    assert len(hrefs) == len(folders)
    for folder in folders:
        (href,) = [h for h in hrefs if h.endswith(f"/{folder.name}.ipynb")]
        served = (site / "book" / href).resolve()
        assert served.read_bytes() == (folder / f"{folder.name}.ipynb").read_bytes(), href


def test_launch_buttons_build_offline_once_a_repository_url_is_set(tmp_path):
    """What _config.yml's comment promises: with repository.url and the services set, a
    chapter page gets Binder, Colab and JupyterHub (nbgitpuller) links, and builds with -W."""
    import nbformat

    book = tmp_path / "mini"
    book.mkdir()
    (book / "_config.yml").write_text(textwrap.dedent("""\
        title: mini
        execute:
          execute_notebooks: "off"
        repository:
          url: https://github.com/example/curvature-lab
          branch: main
        launch_buttons:
          notebook_interface: jupyterlab
          binderhub_url: https://mybinder.org
          colab_url: https://colab.research.google.com
          jupyterhub_url: https://hub.example.edu
        """))
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Mini"), nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, book / "intro.ipynb")
    proc = build_book(book)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    html = (book / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    assert "mybinder.org/v2/gh/example/curvature-lab/main" in html
    assert "colab.research.google.com/github/example/curvature-lab/blob/main" in html
    assert "hub.example.edu/hub/user-redirect/git-pull" in html


GLUE_FROM_CHAPTER = re.compile(r"\{glue:text\}`([\w.]+\.ipynb)::(\w+)(?::([^`]*))?`")


@pytest.mark.parametrize("stem", ["errata", "summary"])
def test_the_appendix_pages_show_the_chapters_computed_numbers(site, stem):
    """The errata and summary take their numbers from the chapters that compute them
    (myst-nb glue across pages), and the built page shows each one as its chapter's value."""
    import json

    source = (ROOT / "book" / f"{stem}.md").read_text(encoding="utf-8")
    refs = GLUE_FROM_CHAPTER.findall(source)
    assert refs, f"book/{stem}.md pastes no number computed in a chapter"
    text = page(site, f"book/{stem}").text
    for notebook, key, spec in refs:
        data = json.loads((site.parent / "jupyter_execute" / "book" /
                           notebook.replace(".ipynb", ".glue.json")).read_text())
        value = data[key]["data"]["text/plain"]
        shown = format(float(value), spec) if spec else value
        assert shown in text, f"{stem}: {notebook}::{key} = {value} should show as {shown!r}"
    # nothing left as raw role syntax
    assert "{glue:" not in text and ".ipynb::" not in text
