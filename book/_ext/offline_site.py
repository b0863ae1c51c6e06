"""Sphinx extension: keep the built site self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe. With Thebe switched off (it needs a remote kernel) its
configuration script is still emitted twice on every page, so the browser reports
"Identifier 'THEBE_JS_URL' has already been declared", and it names a CDN URL. The site runs no
kernel, so the Thebe scripts are dropped from every page.

For the same reason the ipywidgets state that myst-nb copies from an executed notebook into its
page (a JSON script of every live widget's model, a few hundred kB per demo) is dropped too:
with no kernel and no widget manager it is dead weight. The demos' static forms stand in.

Accessibility (WCAG 2.2 AA, checked by tests/test_accessibility.py): the extension adds the
site's stylesheet (``book/_static/curvature-lab.css``: link contrast, the demos' captions in
the dark theme, focus rings) and gives the bibliography's entries the ARIA role their list
requires. docutils marks the citation list ``role="list"`` and each entry
``role="doc-biblioentry"``, a role ARIA 1.2 deprecates; a list must own list items, so each
entry becomes ``role="listitem"``; a folded (``hide-input``) cell's toggle loses the
aria-label that hid its visible text. The theme's search button and colour switch are fixed
in ``book/_templates/``.

Print (the PDF edition, ``make pdf``): a demo's display bundle carries, besides the scrubber's
HTML, a PNG contact sheet of a few settings whose caption is stored in the PNG
(``hessian_lab.demos._print``). The LaTeX builder cannot use HTML and takes the PNG; a
post-transform wraps it in a numbered figure with that caption, so print shows a captioned
figure where the site shows the scrubber. When the PDF has been built, the site copies it
(as ``curvature-lab.pdf``) and links it under the table of contents on every page
(``book/_templates/pdf-edition.html``).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

STATIC = Path(__file__).resolve().parents[1] / "_static"
LIBRARY = Path(__file__).resolve().parents[2] / "hessian_lab"
LOGGER = logging.getLogger(__name__)


#: Parts of hessian_lab no chapter imports and the API page does not document: the course's
#: tools (grading, workspace), whose edits need not re-run the chapters.
NOT_IN_THE_BOOK = ("course", "grading")


def library_digest() -> str:
    """sha256 of the Python sources of hessian_lab the chapters use (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*.py")):
        if path.relative_to(LIBRARY).parts[0] in NOT_IN_THE_BOOK:
            continue
        digest.update(str(path.relative_to(LIBRARY)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _outputs_follow_the_library(app, config) -> None:
    """Re-execute the chapters when hessian_lab changed, not only when their code did.

    myst-nb's cache is keyed on a notebook's code cells, and Sphinx re-reads a page only when
    its source changed, so after an edit of the library (a demo's HTML, an optimizer) an
    incremental build would show the old outputs. The library's digest is a config value that
    rebuilds the environment when it changes, and the execution cache is emptied with it.
    """
    digest = library_digest()
    config.hessian_lab_digest = digest
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    stamp = cache.parent / f"{cache.name}.hessian_lab"
    if cache.exists() and (not stamp.exists() or stamp.read_text() != digest):
        LOGGER.info("hessian_lab changed since the cached execution: emptying %s", cache)
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)



def _is_thebe(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def _is_widget_state(script) -> bool:
    kind = str(getattr(script, "attributes", {}).get("type", ""))
    return kind.startswith("application/vnd.jupyter.widget-")


def _drop_kernel_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts
                                   if not (_is_thebe(s) or _is_widget_state(s))]


def _bibliography_roles(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


#: the PNG text key of a printed demo's caption (hessian_lab.demos._print.CAPTION_KEY; the
#: extension does not import the library, so that a build never runs it outside a kernel)
DEMO_CAPTION_KEY = "curvature-lab-caption"


def demo_caption(path: Path) -> str | None:
    """The caption stored in a printed demo's PNG, or None for any other image."""
    if path.suffix.lower() != ".png" or not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as image:
        return getattr(image, "text", {}).get(DEMO_CAPTION_KEY)


class PrintedDemoFigures(SphinxPostTransform):
    """In print, give each demo's contact sheet (chosen from its bundle) a figure caption."""

    default_priority = 5  # after myst-nb's SelectMimeType (4) picked the PNG
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for image in list(self.document.findall(nodes.image)):
            if isinstance(image.parent, nodes.figure):
                continue
            uri = image.get("candidates", {}).get("*", image["uri"])
            path = Path(self.app.srcdir) / uri
            caption = demo_caption(path)
            if caption is None:
                continue
            figure = nodes.figure("", classes=["hl-demo-print"])
            # the full text width, unless that would leave no room on the page for the
            # caption: then 6.8 inches tall (the text block is about 6.5 by 9 inches)
            from PIL import Image

            with Image.open(path) as png:
                tall = png.height / png.width * 6.5 > 6.8
            image["height" if tall else "width"] = "6.8in" if tall else "100%"
            image.replace_self(figure)
            figure += image
            figure += nodes.caption(caption, caption)


#: where `make pdf` leaves the PDF, and its name in the site
PDF_BUILT, PDF_SERVED = Path("latex") / "book.pdf", "curvature-lab.pdf"


def _pdf_edition(app, config) -> None:
    """Link the PDF edition from every page when it has been built (and only then)."""
    built = Path(app.outdir).parent / PDF_BUILT
    config.hessian_lab_pdf = PDF_SERVED if built.is_file() else ""


def _pdf_context(app, pagename, templatename, context, doctree) -> None:
    context["hessian_lab_pdf"] = app.config.hessian_lab_pdf


def _copy_pdf(app, exception) -> None:
    if exception is None and app.builder.format == "html" and app.config.hessian_lab_pdf:
        shutil.copyfile(Path(app.outdir).parent / PDF_BUILT,
                        Path(app.outdir) / app.config.hessian_lab_pdf)


def part_openings(toc: Path) -> dict[str, bool]:
    """First page of each part of _toc.yml -> whether that part is numbered."""
    import yaml

    parts = yaml.safe_load(toc.read_text()).get("parts", [])
    return {part["chapters"][0]["file"]: bool(part.get("numbered"))
            for part in parts if part.get("chapters")}


class PrintedChapterNumbers(SphinxPostTransform):
    """In print, number the chapters as the site does: only the numbered parts' chapters.

    LaTeX numbers every chapter, so the two pages of "Getting started" would push chapter
    1 to 3 and every figure and equation number would differ from the site's (and from the
    prose's "chapter 10"). At the first page of each part the numbering is switched off
    (``secnumdepth`` -1: chapters stay in the contents, unnumbered) or back on, and the
    chapter counter starts from 0 at the first numbered part.
    """

    default_priority = 5
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        openings = part_openings(Path(self.app.confdir) / "_toc.yml")
        first_numbered = next((doc for doc, numbered in openings.items() if numbered), None)
        for start in list(self.document.findall(addnodes.start_of_file)):
            docname = start.get("docname")
            if docname not in openings:
                continue
            if openings[docname]:
                tex = r"\ifdefined\hlsecnumdepth\setcounter{secnumdepth}{\hlsecnumdepth}\fi"
                if docname == first_numbered:
                    tex += r"\setcounter{chapter}{0}"
            else:
                tex = (r"\ifdefined\hlsecnumdepth\else"
                       r"\edef\hlsecnumdepth{\the\value{secnumdepth}}\fi"
                       r"\setcounter{secnumdepth}{-1}")
            start.insert(0, nodes.raw("", tex + "\n", format="latex"))


def _hidden_cell_toggles(app, pagename, templatename, context, doctree) -> None:
    """A folded code cell's toggle is named by what it shows ("Show code cell source").

    myst-nb labels the ``<summary>`` of a ``hide-input`` cell "Toggle hidden content", a name
    that does not contain its visible text (WCAG 2.5.3, label in name); without the label the
    summary is named by its visible title.
    """
    body = context.get("body")
    if body and '<summary aria-label="Toggle hidden content">' in body:
        context["body"] = body.replace('<summary aria-label="Toggle hidden content">',
                                       "<summary>")


def _static_files(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.setup_extension("lab_edition")   # the reading edition for JupyterLab (its docstring)
    app.setup_extension("live_python")   # the site's JupyterLite, after the edition (ditto)
    app.add_config_value("hessian_lab_digest", "", "env")
    app.add_config_value("hessian_lab_pdf", "", "html")
    app.connect("config-inited", _pdf_edition)
    app.connect("html-page-context", _pdf_context)
    app.connect("build-finished", _copy_pdf)
    app.connect("config-inited", _outputs_follow_the_library, priority=100)
    app.connect("html-page-context", _drop_kernel_scripts, priority=900)
    app.connect("html-page-context", _bibliography_roles, priority=900)
    app.connect("html-page-context", _hidden_cell_toggles, priority=900)
    app.connect("builder-inited", _static_files)
    app.add_css_file("curvature-lab.css")
    app.add_post_transform(PrintedDemoFigures)
    app.add_post_transform(PrintedChapterNumbers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
