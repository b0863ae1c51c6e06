"""The live site: the JupyterLite with Python that every html build puts in _build/html/lite.

Static checks: the Pyodide it serves is complete and every file has the sha256 its lock says,
the configuration names no CDN, the contents keep the repository's folders, and every chapter
page links its notebook there. Then, in headless Chromium with every request that would leave
localhost aborted and counted (tests/browser.py's NetworkGuard), as a reader uses it: a chapter
opened from its page's "Run this chapter live" link runs to the end in the browser, its hidden
checks (the numbers the prose states) included; a demo started with "Run it live" on its page
changes its readout when a slider moves; an exercise's visible test fails unsolved, with the
diagnostic of JupyterLab, and passes once the solution is in. Screenshots go to
test-artifacts/live/.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import pytest
from browser import NetworkGuard, static_server
from conftest import ROOT, load_notebook
from test_reading_lab import RAW, _sample, _wait_rendered

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "live"
CHAPTER = "book/10_condition_number"
DEMO_CHAPTER = "book/13_geometry_2d"
EXERCISE = "01_hessians"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def lite(site) -> Path:
    path = site / "lite"
    assert (path / "lab" / "index.html").is_file(), "the build wrote no live site"
    return path


def test_the_live_site_serves_its_own_checked_python(lite):
    pyodide = lite / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    for needed in ("numpy", "matplotlib", "sympy", "ipywidgets", "hessian-lab", "myst-nb",
                   "pillow"):
        assert needed in packages, f"{needed} is not in the served lock"
    bad = []
    for entry in packages.values():
        path = pyodide / entry["file_name"]
        if not path.is_file():
            bad.append(f"{entry['file_name']}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            bad.append(f"{entry['file_name']}: sha256 differs from the lock")
        for dep in entry["depends"]:               # Pyodide compares names normalized
            if _norm(dep) not in {_norm(k) for k in packages}:
                bad.append(f"{entry['name']} depends on {dep}, which is not served")
    assert not bad, "\n".join(bad)
    for core in ("pyodide.asm.wasm", "pyodide.asm.js", "python_stdlib.zip", "pyodide.mjs"):
        assert (pyodide / core).is_file(), core
    # no configuration or page of the live site names a CDN
    for path in [*lite.rglob("jupyter-lite.json"), *lite.glob("*/index.html")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"cdn\.jsdelivr|unpkg\.com|cdnjs|pyodide\.org", text), path


def test_the_live_contents_keep_the_repository_folders(lite):
    files = lite / "files"
    assert (files / "START_HERE.ipynb").is_file()
    chapters = sorted(p.stem for p in (ROOT / "_build" / "lab" / "book").glob("*.ipynb"))
    assert chapters and all((files / "book" / f"{c}.ipynb").is_file() for c in chapters)
    for folder in sorted(p for p in (ROOT / "exercises").iterdir() if p.is_dir()):
        assert (files / "exercises" / folder.name / f"{folder.name}.ipynb").is_file()


def test_every_chapter_page_links_its_live_notebook(site, lite):
    chapters = sorted(p.stem for p in (ROOT / "_build" / "lab" / "book").glob("*.ipynb"))
    missing = []
    for stem in chapters:
        html = (site / "book" / f"{stem}.html").read_text(encoding="utf-8")
        link = f'href="../lite/lab/index.html?path=book/{stem}.ipynb"'
        if link not in html:
            missing.append(stem)
    assert not missing, f"pages without their live link: {missing}"
    html = (site / f"{DEMO_CHAPTER}.html").read_text(encoding="utf-8")
    demos = json.loads(re.search(r"data-demos='([^']*)'", html).group(1))
    assert demos == ["demos.hessian_explorer()"]


# ---------------------------------------------------------------------- in the browser
#: JupyterLite's kernel file system asks the contents API whether a folder exists (IPython
#: does so for the library's files when it prints a traceback, e.g. of a failed check); the
#: site's static contents answer 404, "no such folder", which is the right answer
PROBE = re.compile(r"/lite/api/contents/(?:.+/)?all\.json$")
NOT_FOUND = "Failed to load resource: the server responded with a status of 404"


@pytest.fixture(scope="module")
def base_url(site):
    with static_server(site) as url:
        yield url


class Visit:
    """A fresh browser profile (nothing cached) with the network guard, collecting errors."""

    def __init__(self, browser):
        self.guard = NetworkGuard()
        self.context = browser.new_context(viewport={"width": 1300, "height": 1000})
        self.context.route("**/*", self.guard)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.failed: list[str] = []
        self.probes = 0
        self.page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status < 400:
            return
        if response.status == 404 and PROBE.search(response.url):
            self.probes += 1
        else:
            self.failed.append(f"HTTP {response.status} {response.url}")

    def check(self, where: str) -> None:
        assert not self.guard.external, f"{where}: requests leaving localhost: " \
                                        f"{self.guard.external}"
        assert not self.failed, f"{where}: failed requests: {self.failed}"
        # the browser logs each 404 as a console error without its URL: take away one for
        # each folder probe of the kernel's file system, and nothing else
        errors, probes = list(self.errors), self.probes
        for message in list(errors):
            if probes and message.startswith(NOT_FOUND):
                errors.remove(message)
                probes -= 1
        assert not errors, f"{where}: console errors: {errors}"

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser):
    v = Visit(browser)
    yield v
    v.close()


#: the code cells of the current notebook: execution count, outputs' text, errors
CELLS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const outs = [...Array(c.model.outputs.length).keys()]
        .map(i => c.model.outputs.get(i).toJSON());
    return {count: c.model.executionCount, hidden: c.inputHidden,
            id: ((c.model.getMetadata('nbgrader') || {}).grade_id) || null,
            text: outs.map(o => o.text || (o.data && o.data['text/plain']) || '').join(''),
            errors: outs.filter(o => o.output_type === 'error')
                        .map(o => o.ename + ': ' + o.evalue)};
  });
}"""


def _wait_notebook(page, path: str, timeout: float = 180) -> None:
    page.wait_for_function(
        "(p) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " if (!w || !w.context || w.context.path !== p || !w.context.isReady) return false;"
        " const s = w.sessionContext.session; return s && s.kernel"
        " && s.kernel.status === 'idle'; }", arg=path, timeout=timeout * 1000)


def _execute(page, code: str) -> str:
    """Run ``code`` in the current notebook's kernel (not in a cell); its printed text."""
    return page.evaluate("""async (code) => {
      const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      const f = k.requestExecute({code});
      let text = '';
      f.onIOPub = (m) => {
        if (m.header.msg_type === 'stream') text += m.content.text;
        if (m.header.msg_type === 'error') text += m.content.ename + ': ' + m.content.evalue;
      };
      await f.done;
      return text;
    }""", code)


def _run_all(page, timeout: float = 600) -> list[dict]:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(1)
        cells = page.evaluate(CELLS_JS)
        busy = page.evaluate("() => window.jupyterapp.shell.currentWidget"
                             ".sessionContext.session.kernel.status")
        if all(c["count"] for c in cells) and busy == "idle":
            return cells
        if busy == "idle" and any(c["errors"] for c in cells):
            return cells           # run-all stops at the first error
        assert time.monotonic() < deadline, "the notebook did not finish running"


def test_a_chapter_opened_from_its_page_reads_and_runs_live(visit, base_url):
    page = visit.page
    page.goto(f"{base_url}/{CHAPTER}.html", wait_until="load")
    page.locator("a.hl-live-link").click()
    _wait_notebook(page, f"{CHAPTER}.ipynb")
    # sympy loads when a cell imports it, not with hessian_lab: a function that needs it,
    # called without it, says what to do, and works once a cell has imported sympy
    hint = _execute(page, "import hessian_lab as hl\ntry:\n"
                          "    hl.rosenbrock().expr()\n"
                          "except ModuleNotFoundError as err:\n    print(err)")
    assert "run `import sympy` in a cell" in hint, hint
    assert "100*(-x**2 + y)**2" in _execute(page, "import sympy\nprint(hl.rosenbrock().expr())")
    # it reads as in JupyterLab (tests/test_reading_lab.py's checks): no MyST syntax or raw
    # LaTeX, the glued numbers shown, a solution folded until clicked
    texts = _wait_rendered(page, f"{CHAPTER}.ipynb")
    assert texts, "no rendered Markdown"
    raw = [m.group(0) for t in texts for m in RAW.finditer(t)]
    assert not raw, f"{CHAPTER} live shows source: {raw[:10]}"
    missing = [v for v in _sample(CHAPTER.split("/")[1]) if v not in " ".join(texts)]
    assert not missing, f"glued numbers not shown live: {missing}"
    # JupyterLab 4.3 attaches only the cells near the view: bring the first solution there
    page.evaluate("""async () => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      const i = nb.widgets.findIndex(c => c.model.type === 'markdown'
                                         && c.model.sharedModel.getSource().includes('<details'));
      await nb.scrollToItem(i, 'center');
    }""")
    details = page.locator(".jp-RenderedMarkdown details").first
    details.wait_for(state="attached", timeout=30_000)
    details.scroll_into_view_if_needed()
    assert not details.evaluate("d => d.open")
    details.locator("summary").click()
    details.locator(":scope > :not(summary)").first.wait_for(state="visible", timeout=5000)
    visit.shot("chapter-reading")
    cells = _run_all(page)
    visit.shot("chapter-run")
    errors = [e for c in cells for e in c["errors"]]
    assert not errors, f"{CHAPTER} in the browser: {errors}"
    first = _execute(page, "import sys, numpy, hessian_lab\n"
                           "print(sys.platform, numpy.__version__, hessian_lab.__name__)")
    assert first.split()[0] == "emscripten" and "hessian_lab" in first, first
    hidden = [c for c in cells if c["hidden"]]
    assert len(hidden) >= 5 and all(c["count"] for c in hidden), \
        "the chapter's hidden checks did not all run"
    visit.check(CHAPTER + " live")


#: every page with code: each must run to the end in the browser, its hidden checks included
CODE_PAGES = sorted(p.stem for p in (ROOT / "book").glob("*.ipynb")
                    if any(c["cell_type"] == "code" for c in load_notebook(p)["cells"]))


@pytest.mark.parametrize("stem", CODE_PAGES)
def test_every_chapter_runs_to_the_end_in_the_browser(visit, base_url, stem):
    """Pyodide's numpy 2.0.2 and scipy 1.14.1 are not the lock's: what a chapter checks must
    hold there too (found this way: numpy cannot raise LinAlgError in WebAssembly, which has no
    floating-point flags, so a Cholesky of an indefinite matrix returned NaNs; scipy 1.14's
    L-BFGS-B words its messages differently)."""
    page = visit.page
    path = f"book/{stem}.ipynb"
    page.goto(f"{base_url}/lite/lab/index.html?path={path}", wait_until="load")
    _wait_notebook(page, path)
    cells = _run_all(page)
    errors = [e for c in cells for e in c["errors"]]
    assert not errors, f"{path} in the browser: {errors}"
    assert all(c["count"] for c in cells), f"{path}: not every cell ran"
    visit.check(path)


def test_a_demo_runs_live_on_its_page(visit, base_url):
    page = visit.page
    page.goto(f"{base_url}/{DEMO_CHAPTER}.html", wait_until="load")
    button = page.locator("button.hl-live-demo-button")
    assert button.count() == 1
    static = page.locator("figure.hl-demo")
    assert static.is_visible()                      # the static form stays the default
    button.click()
    frame = page.frame_locator("iframe.hl-live-demo")
    readout = frame.locator(".jp-OutputArea .hl-readout").first
    readout.wait_for(state="visible", timeout=240_000)
    before = readout.inner_text()
    handle = frame.locator(".jp-OutputArea .widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    deadline = time.monotonic() + 60
    while readout.inner_text() == before:
        assert time.monotonic() < deadline, "the live readout did not change: " + before
        time.sleep(0.3)
    page.locator("iframe.hl-live-demo").scroll_into_view_if_needed()
    visit.shot("demo-live")
    button.click()                                   # stop: the frame goes
    assert page.locator("iframe.hl-live-demo").count() == 0
    visit.check(DEMO_CHAPTER + " live demo")


def _solution_sources(name: str) -> dict[str, str]:
    nb = load_notebook(ROOT / "solutions" / name / f"{name}.ipynb")
    return {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("solution")}


def test_an_exercise_checks_itself_in_the_browser(visit, base_url):
    page = visit.page
    path = f"exercises/{EXERCISE}/{EXERCISE}.ipynb"
    page.goto(f"{base_url}/lite/lab/index.html?path={path}", wait_until="load")
    _wait_notebook(page, path)
    cells = _run_all(page)
    failed = [c for c in cells if c["errors"]]
    assert failed, "an unsolved exercise passed its tests"
    assert "not written yet" in " ".join(failed[0]["errors"]), failed[0]
    visit.shot("exercise-unsolved")
    solutions = _solution_sources(EXERCISE)
    page.evaluate("""(solutions) => {
      const panel = window.jupyterapp.shell.currentWidget;
      for (const cell of panel.content.widgets) {
        const id = (cell.model.getMetadata('nbgrader') || {}).grade_id;
        if (id in solutions) cell.model.sharedModel.setSource(solutions[id]);
      }
    }""", solutions)
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.restartKernel()")
    _wait_notebook(page, path)
    cells = _run_all(page)
    visit.shot("exercise-solved")
    errors = [f"{c['id']}: {c['errors']}" for c in cells if c["errors"]]
    assert not errors, "the solution fails in the browser:\n" + "\n".join(errors)
    graded = [c for c in cells if c["id"] and c["id"] not in solutions and c["id"] != "setup"
              and "hidden" not in c["id"]]
    assert graded and all("receipt" in c["text"] for c in graded), \
        [c["text"][-200:] for c in graded]
    visit.check(path)
