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
entry becomes ``role="listitem"``. The theme's search button and colour switch are fixed in
``book/_templates/``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.util import logging

STATIC = Path(__file__).resolve().parents[1] / "_static"
LIBRARY = Path(__file__).resolve().parents[2] / "hessian_lab"
LOGGER = logging.getLogger(__name__)


def library_digest() -> str:
    """sha256 of hessian_lab's Python sources (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*.py")):
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


def _static_files(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_config_value("hessian_lab_digest", "", "env")
    app.connect("config-inited", _outputs_follow_the_library, priority=100)
    app.connect("html-page-context", _drop_kernel_scripts, priority=900)
    app.connect("html-page-context", _bibliography_roles, priority=900)
    app.connect("builder-inited", _static_files)
    app.add_css_file("curvature-lab.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
