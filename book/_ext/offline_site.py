"""Sphinx extension: keep the built site self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe. With Thebe switched off (it needs a remote kernel) its
configuration script is still emitted twice on every page, so the browser reports
"Identifier 'THEBE_JS_URL' has already been declared", and it names a CDN URL. The site runs no
kernel, so the Thebe scripts are dropped from every page.
"""

from __future__ import annotations


def _is_thebe(script) -> bool:
    filename = str(getattr(script, "filename", "") or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in filename or "THEBE_JS_URL" in body


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts if not _is_thebe(s)]


def setup(app):
    app.connect("html-page-context", _drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
