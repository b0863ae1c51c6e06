"""The reading edition in a real JupyterLab, as `make lab` serves it to a student.

A workspace is made with the same sync as `make lab` (hessian_lab.course.workspace) from the
edition the site build wrote, and JupyterLab is started with the JupyterLab defaults of
`make lab` (book/_lab), driven by headless Chromium. Every page of the book is opened; in each,
the rendered Markdown (code and typeset maths aside) must show no MyST syntax and no raw LaTeX,
a sample of the chapter's glued numbers must be in the rendered text, and a self-check's solution
must stay folded until its summary is clicked. Screenshots go to test-artifacts/jupyterlab/.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import time

import pytest
from browser import jupyterlab_server
from conftest import ROOT, load_notebook

from hessian_lab.course import workspace

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "jupyterlab"
EDITION = ROOT / "_build" / "lab"
PAGES = sorted(p.stem for p in (ROOT / "book").iterdir()
               if p.suffix in (".ipynb", ".md") and p.stem != "api")
GLUE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::([^`]*))?`")
RAW = re.compile(r"\{[a-z]+(?::[a-z]+)?\}|:::|^\s*\([\w-]+\)=|:label:|:class:|\$|\\[a-zA-Z]{2,}",
                 re.M)

# The rendered text of every Markdown cell, without code and typeset maths; null while a cell
# is not rendered or its maths is not typeset yet.
RENDERED_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content) return null;
  const cells = panel.content.widgets.filter(c => c.model.type === 'markdown');
  const out = [];
  for (const cell of cells) {
    const node = cell.node.querySelector('.jp-RenderedMarkdown');
    if (!node || !cell.rendered || !node.textContent.trim()) return null;
    const clone = node.cloneNode(true);
    clone.querySelectorAll('pre, code, mjx-container, mjx-assistive-mml, script')
         .forEach(e => e.remove());
    out.push(clone.textContent);
  }
  return out;
}"""

# Close every open document without a prompt (a kernel's start marks a notebook changed: it
# records the kernel's language_info) and stop its kernel, once the kernel has started and is
# idle: a session shut down while its kernel is still starting makes JupyterLab itself throw
# ("Disposed", "reading 'kernel'") on a loaded machine.
CLOSE_JS = """async () => {
  const shell = window.jupyterapp.shell;
  const settle = async (sc) => {
    await sc.ready;
    const until = Date.now() + 60000;
    while (Date.now() < until) {
      const k = sc.session && sc.session.kernel;
      if (!k || k.status === 'idle' || k.status === 'dead') break;
      await new Promise(r => setTimeout(r, 200));
    }
  };
  for (const widget of Array.from(shell.widgets('main'))) {
    if (widget.context) await widget.context.ready;
    if (widget.sessionContext) await settle(widget.sessionContext);
    if (widget.context) widget.context.model.dirty = false;
    if (widget.sessionContext) await widget.sessionContext.shutdown();
    widget.close();
  }
}"""

OPEN_JS = """async (path) => {
  await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
}"""


def _sample(stem: str) -> list[str]:
    """Five of the chapter's glued numbers, formatted independently of the converter."""
    path = ROOT / "book" / f"{stem}.ipynb"
    glue_file = ROOT / "_build" / "jupyter_execute" / "book" / f"{stem}.glue.json"
    if not path.exists() or not glue_file.exists():
        return []
    data = json.loads(glue_file.read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in load_notebook(path)["cells"]
                       if c["cell_type"] == "markdown")
    refs = [(k, spec) for k, spec in GLUE.findall(source) if k in data]
    picks = sorted({0, len(refs) // 4, len(refs) // 2, 3 * len(refs) // 4, len(refs) - 1})
    shown = []
    for i in picks if refs else []:
        key, spec = refs[i]
        value = data[key]["data"]["text/plain"]
        shown.append(format(ast.literal_eval(value), spec) if spec else value.strip("'\""))
    return shown


@pytest.fixture(scope="module")
def student_lab(site, tmp_path_factory):
    root = tmp_path_factory.mktemp("student")
    report = workspace.sync(EDITION, root, ROOT / "exercises")
    assert "START_HERE.ipynb" in report.copied
    with jupyterlab_server(root, env={"CURVATURE_LAB_LIVE": "1"}, as_make_lab=True) as lab:
        yield lab


@pytest.fixture(scope="module")
def lab_page(browser, student_lab):
    """One JupyterLab tab opened as `make lab` opens it, on START_HERE.ipynb."""
    base, token = student_lab
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/lab/workspaces/s{secrets.token_hex(4)}/tree/START_HERE.ipynb"
              f"?reset&token={token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.context"
                           " && window.jupyterapp.shell.currentWidget.context.path"
                           " === 'START_HERE.ipynb'", timeout=120_000)
    yield page, errors
    context.close()


def _wait_rendered(page, path: str, timeout: float = 120) -> list[str]:
    page.wait_for_function("(p) => window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.context"
                           " && window.jupyterapp.shell.currentWidget.context.path === p"
                           " && window.jupyterapp.shell.currentWidget.context.isReady",
                           arg=path, timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    texts = None
    while time.monotonic() < deadline:
        texts = page.evaluate(RENDERED_JS)
        # MathJax typesets after the Markdown is in the page: wait until no "$" is left
        if texts is not None and not any("$" in t for t in texts):
            return texts
        time.sleep(0.3)
    return texts or []


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_make_lab_opens_on_start_here_without_the_news_prompt(lab_page):
    page, errors = lab_page
    texts = _wait_rendered(page, "START_HERE.ipynb")
    assert texts and "start here" in texts[0].lower() and "Contents" in texts[0]
    time.sleep(3)                      # the news prompt comes a moment after the start
    toasts = page.locator(".Toastify__toast").all_inner_texts()
    assert not [t for t in toasts if "news" in t.lower()], toasts
    _shot(page, "reading-start-here")
    # The contents link to the chapters: a click opens the first one in JupyterLab.
    page.locator(".jp-RenderedMarkdown a", has_text="preface").first.click()
    _wait_rendered(page, "book/preface.ipynb")
    assert not errors, errors


@pytest.mark.parametrize("stem", PAGES)
def test_a_page_reads_without_source_and_shows_its_numbers(lab_page, stem):
    page, errors = lab_page
    before = len(errors)
    path = f"book/{stem}.ipynb"
    page.evaluate(CLOSE_JS)
    page.evaluate(OPEN_JS, path)
    texts = _wait_rendered(page, path)
    assert texts, f"{path}: no rendered Markdown"
    raw = []
    for i, text in enumerate(texts):
        for m in RAW.finditer(text):
            raw.append(f"cell {i}: ...{text[max(0, m.start() - 50):m.end() + 50]}...")
    _shot(page, f"reading-{stem}")
    assert not raw, f"{path} shows source:\n" + "\n".join(raw[:10])
    rendered = " ".join(texts)
    missing = [value for value in _sample(stem) if value not in rendered]
    assert not missing, f"{path}: glued numbers not shown: {missing}"
    details = page.locator(".jp-RenderedMarkdown details")
    if details.count():
        first = details.first
        first.scroll_into_view_if_needed()
        body = first.locator(":scope > :not(summary)").first
        assert not first.evaluate("d => d.open") and not body.is_visible()
        first.locator("summary").click()
        body.wait_for(state="visible", timeout=5000)
        _shot(page, f"reading-{stem}-solution")
        first.locator("summary").click()
    assert not errors[before:], errors[before:]


def test_a_reading_chapter_runs_with_its_hidden_checks(lab_page):
    """The collapsed check cells run with the rest, in the student's kernel."""
    page, errors = lab_page
    before = len(errors)
    path = "book/10_condition_number.ipynb"
    page.evaluate(CLOSE_JS)
    page.evaluate(OPEN_JS, path)
    _wait_rendered(page, path)
    page.wait_for_function("() => { const s = window.jupyterapp.shell.currentWidget"
                           ".sessionContext.session; return s && s.kernel"
                           " && s.kernel.status === 'idle'; }", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    state_js = """() => {
      const cells = window.jupyterapp.shell.currentWidget.content.widgets
          .filter(c => c.model.type === 'code');
      return cells.map(c => ({count: c.model.executionCount,
                              hidden: c.inputHidden,
                              errors: [...Array(c.model.outputs.length).keys()]
                                 .map(i => c.model.outputs.get(i).toJSON())
                                 .filter(o => o.output_type === 'error')
                                 .map(o => o.ename + ': ' + o.evalue)}));
    }"""
    deadline = time.monotonic() + 240
    while True:
        cells = page.evaluate(state_js)
        if all(c["count"] for c in cells) or any(c["errors"] for c in cells):
            break
        assert time.monotonic() < deadline, "the chapter did not finish running"
        time.sleep(0.5)
    assert not [e for c in cells for e in c["errors"]]
    hidden = [c for c in cells if c["hidden"]]
    assert len(hidden) >= 5 and all(c["count"] for c in hidden)
    # A cross-reference opens the chapter it names.
    link = page.locator(".jp-RenderedMarkdown a[href*='09_newton_convergence.ipynb']").first
    link.scroll_into_view_if_needed()
    link.click()
    _wait_rendered(page, "book/09_newton_convergence.ipynb")
    assert not errors[before:], errors[before:]
