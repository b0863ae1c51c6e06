"""The PDF edition: `make pdf` builds it with XeLaTeX, and it reads as the site does.

TeX Live comes from Debian's packages (tests/texlive.py installs them as root; skipped with
the reason elsewhere, failed under CI). The PDF is built once per session just before the
site (conftest's ``pdf_build``), so that the chapters run once for both and the site links
and serves it. The checks
read the PDF's text with pdftotext and render pages with pdftoppm.
"""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import pytest
from conftest import ROOT, load_notebook, skip_or_fail

pytestmark = pytest.mark.slow

GLUE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::([^`]*))?`")


def toc_files() -> list[str]:
    """The book's pages in reading order, as _toc.yml lists them."""
    return re.findall(r"(?:root|file):\s*(book/\S+)", (ROOT / "_toc.yml").read_text())


def title_of(stem: str) -> str:
    """A page's first heading, with its maths removed (pdftotext spells maths its own way)."""
    path = ROOT / f"{stem}.ipynb"
    if path.exists():
        text = "\n".join("".join(c["source"]) for c in load_notebook(path)["cells"]
                         if c["cell_type"] == "markdown")
    else:
        text = (ROOT / f"{stem}.md").read_text()
    heading = re.search(r"^# (.+)$", text, re.MULTILINE).group(1).replace("`", "")
    pieces = [p.strip(" :,-") for p in re.split(r"\$[^$]*\$", heading)]
    return max(pieces, key=len)


def flat(text: str) -> str:
    """pdftotext's text with ligatures undone, soft hyphens at line ends joined, spaces one."""
    text = text.replace("\ufb01", "fi").replace("\ufb02", "fl").replace("\ufb00", "ff")
    text = text.replace("\u2212", "-").replace("\u2019", "'")
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pdf(pdf_build, site):
    if "skip" in pdf_build:
        skip_or_fail(pdf_build["skip"])
    proc, path = pdf_build["proc"], pdf_build["path"]
    if proc.returncode != 0 or not path.is_file():
        log = path.with_suffix(".log")
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        pytest.fail("the PDF build failed:\n" + (proc.stdout + proc.stderr)[-5000:] + tail)
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                         text=True, check=True)
    return out.stdout


def page_texts(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out.split("\f")


def test_every_page_of_the_book_is_in_the_pdf_in_reading_order(pdf, pdf_text):
    text = flat(pdf_text)
    titles = {stem: flat(title_of(stem)) for stem in toc_files()}
    missing = [f"{stem}: {title!r}" for stem, title in titles.items() if title not in text]
    assert not missing, "titles missing from the PDF:\n" + "\n".join(missing)
    # in the site's order: each title found after the previous one (in the PDF's contents,
    # which LaTeX writes from the chapters as they are set)
    at, order = 0, []
    for stem, title in titles.items():
        found = text.find(title, at)
        order.append((stem, found))
        at = max(at, found)
    out_of_order = [stem for stem, found in order if found < 0]
    assert not out_of_order, f"pages out of the site's order: {out_of_order}"


def test_no_unresolved_references_and_equations_are_numbered(pdf_text):
    assert "??" not in pdf_text, "unresolved references (??) in the PDF: " + \
        " | ".join(flat(pdf_text[max(0, m.start() - 80):m.end() + 40])
                   for m in re.finditer(r"\?\?", pdf_text))[:1500]
    assert "{glue:" not in pdf_text and "{ref}" not in pdf_text and "{term}" not in pdf_text
    # numbered display equations, referred to as (chapter.number) or (number)
    assert len(re.findall(r"\((?:\d+\.)?\d+\)", pdf_text)) > 50


def test_a_sample_of_every_chapters_glued_numbers_is_printed(pdf_text):
    text = flat(pdf_text)
    checked, missing = 0, []
    for stem in toc_files():
        path = ROOT / f"{stem}.ipynb"
        glue_file = ROOT / "_build" / "jupyter_execute" / f"{stem}.glue.json"
        if not path.exists() or not glue_file.exists():
            continue
        data = json.loads(glue_file.read_text())
        markdown = "\n".join("".join(c["source"]) for c in load_notebook(path)["cells"]
                             if c["cell_type"] == "markdown")
        refs = [(k, spec) for k, spec in GLUE.findall(markdown) if k in data]
        sample = [refs[i] for i in sorted({0, len(refs) // 2, len(refs) - 1})] if refs else []
        for key, spec in sample:
            value = data[key]["data"]["text/plain"]
            shown = format(float(value), spec) if spec else value.strip("'\"")
            checked += 1
            if flat(shown) not in text:
                missing.append(f"{stem}::{key} = {value!r}, expected {shown!r}")
    assert checked >= 30, f"only {checked} glued numbers were sampled"
    assert not missing, "glued numbers not in the PDF:\n" + "\n".join(missing)


def test_page_count_is_that_of_a_book(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 150 <= pages <= 900, f"{pages} pages"


def test_a_demo_prints_as_a_captioned_figure_that_is_not_blank(pdf, tmp_path, root):
    from hessian_lab.demos._registry import DEMOS

    pages = page_texts(pdf)
    demo_pages = [i + 1 for i, t in enumerate(pages) if "Printed at" in t]
    # every registered demo prints once, with its caption
    assert len(demo_pages) >= len(DEMOS), f"demo figures on pages {demo_pages}"
    for entry in DEMOS.values():
        opening = " ".join(entry.factory().caption().split()[:6])  # its caption's first words
        assert any(flat(opening) in flat(pages[p - 1]) for p in demo_pages), opening
    from PIL import Image

    artifacts = root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    for page in demo_pages:
        out = tmp_path / f"page{page}"
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "60", "-png",
                        str(pdf), str(out)], check=True)
        (png,) = tmp_path.glob(f"page{page}-*.png")
        if page == demo_pages[0]:
            (artifacts / "pdf-demo-page.png").write_bytes(png.read_bytes())
        grey = np.asarray(Image.open(png).convert("L"), dtype=float)
        ink = float(np.mean(grey < 200))
        assert ink > 0.02 and grey.std() > 20, f"page {page} looks blank (ink {ink:.3f})"
        # and the figure is there in colour, as drawn: a page of text has no coloured pixel
        # (measured: 0.1% to 2.7% of a demo's page, 0 on text pages)
        rgb = np.asarray(Image.open(png).convert("RGB"), dtype=int)
        colour = float(np.mean((rgb.max(axis=2) - rgb.min(axis=2)) > 60))
        assert colour > 0.0005, f"no coloured figure on page {page} ({colour:.4f})"


def test_the_site_links_and_serves_the_pdf(pdf, site):
    served = site / "curvature-lab.pdf"
    assert served.read_bytes() == pdf.read_bytes()
    for page in ["book/preface.html", "book/10_condition_number.html", "book/glossary.html"]:
        html = (site / page).read_text()
        link = re.search(r'<nav class="bd-links hl-pdf-edition"[^>]*>.*?href="([^"]+)"', html,
                         re.DOTALL)
        assert link, f"{page} has no link to the PDF edition"
        assert (site / page).parent.joinpath(link.group(1)).resolve() == served.resolve()
