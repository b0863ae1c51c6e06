"""Sphinx extension: keep the built site self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe. With Thebe switched off (it needs a remote kernel) its
configuration script is still emitted twice on every page, so the browser reports
"Identifier 'THEBE_JS_URL' has already been declared", and it names a CDN URL. The site runs no
kernel, so the Thebe scripts are dropped from every page.

For the same reason the ipywidgets state that myst-nb copies from an executed notebook into its
page (a JSON script of every live widget's model, a few hundred kB per demo) is dropped too:
with no kernel and no widget manager it is dead weight. The demos' static forms stand in.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _drop_kernel_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
