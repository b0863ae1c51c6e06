"""The live side in a real browser: JupyterLab runs a chapter's demo and a student's exercise.

A JupyterLab server is started on a free localhost port with a random token, on a temporary
copy of the notebooks (so nothing in the repository is modified by autosave), and driven by
headless Chromium through Playwright. The server is stopped at the end whatever happens.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from pathlib import Path

import pytest
from browser import jupyterlab_server
from conftest import ROOT

# A JupyterLab server driven by Chromium: not in `make test-fast`.
pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts" / "jupyterlab"

# Everything the tests ask JupyterLab goes through its application object, which the server
# exposes in the page with LabApp.expose_app_in_browser.
CELL_STATE_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext.session) return null;
  const kernel = panel.sessionContext.session.kernel;
  return {
    status: kernel ? kernel.status : 'none',
    counts: panel.content.widgets.filter(c => c.model.type === 'code')
                 .map(c => c.model.executionCount),
  };
}"""

CELL_DONE_JS = """(index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets[index];
  if (cell.model.type !== 'code') return true;
  const session = panel.sessionContext.session;
  if (!session || !session.kernel) return false;
  const kernel = session.kernel;
  return kernel.status === 'idle' && cell.model.executionCount !== null
         && !cell.node.querySelector('.jp-InputArea-prompt').textContent.includes('*');
}"""

RUN_CELL_JS = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""

OUTPUTS_JS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map(c => {
    if (c.model.type !== 'code') return {type: c.model.type, outputs: []};
    const outs = [];
    for (let i = 0; i < c.model.outputs.length; i++) outs.push(c.model.outputs.get(i).toJSON());
    return {type: 'code', source: c.model.sharedModel.getSource(), outputs: outs};
  });
}"""


def _chapter_with(call: str) -> Path:
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        if call in path.read_text(encoding="utf-8"):
            return path
    raise AssertionError(f"no chapter calls {call}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a temporary directory; yields (base url, token, directory)."""
    root = tmp_path_factory.mktemp("lab")
    with jupyterlab_server(root, env={"CURVATURE_LAB_LIVE": "1"}) as (base, token):
        yield base, token, root


class Notebook:
    """One notebook open in JupyterLab."""

    def __init__(self, browser, lab, name: str):
        base, token, _ = lab
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # A workspace of its own, so JupyterLab does not restore notebooks opened earlier.
        workspace = secrets.token_hex(4)
        self.page.goto(f"{base}/lab/workspaces/w{workspace}/tree/{name}?reset&token={token}")
        self.page.wait_for_function(
            "(name) => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.context"
            " && window.jupyterapp.shell.currentWidget.context.path === name"
            " && window.jupyterapp.shell.currentWidget.sessionContext"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            " === 'idle'", arg=name, timeout=120_000)

    def state(self):
        return self.page.evaluate(CELL_STATE_JS)

    def run_each_cell(self, timeout: float = 120) -> list[dict]:
        """Run every cell in order, each after the previous one finished (so an error does not
        abort the cells queued behind it); return the cells' outputs."""
        n = self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets.length")
        for i in range(n):
            self.page.evaluate(RUN_CELL_JS, i)
            deadline = time.monotonic() + timeout
            while True:
                done = self.page.evaluate(CELL_DONE_JS, i)
                if done:
                    break
                if time.monotonic() > deadline:
                    self.screenshot("timeout")
                    raise AssertionError(f"cell {i} did not finish in {timeout} s")
                time.sleep(0.2)
        return self.page.evaluate(OUTPUTS_JS)

    def screenshot(self, name: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)

    def close(self):
        self.context.close()


def _errors(cells) -> list[str]:
    found = []
    for cell in cells:
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                found.append(f"{out.get('ename')}: {out.get('evalue')}")
    return found


def test_chapter_runs_and_the_explorer_slider_changes_the_output(browser, lab):
    chapter = _chapter_with("demos.hessian_explorer(")
    shutil.copy(chapter, lab[2] / chapter.name)
    nb = Notebook(browser, lab, chapter.name)
    try:
        cells = nb.run_each_cell()
        assert not _errors(cells), _errors(cells)
        page = nb.page
        # The live widget is on the page (and no static stand-in is needed in a kernel).
        slider = page.locator(".jp-OutputArea .widget-slider").first
        slider.wait_for(timeout=60_000)
        slider.scroll_into_view_if_needed()
        readout = page.locator(".jp-OutputArea .hl-demo-state").first
        readout.wait_for(timeout=30_000)
        before = readout.inner_text()
        image = page.locator(".jp-OutputArea img.hl-demo-figure").first
        src_before = image.get_attribute("src")
        nb.screenshot("explorer-before")
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for _ in range(25):  # drag the first entry well away from its start
            handle.press("ArrowLeft")
        page.wait_for_function(
            "([el, old]) => el.innerText !== old", arg=[readout.element_handle(), before],
            timeout=30_000)
        after = readout.inner_text()
        page.wait_for_function(
            "([el, old]) => el.getAttribute('src') !== old",
            arg=[image.element_handle(), src_before], timeout=30_000)
        nb.screenshot("explorer-after")
        assert after != before
        assert not nb.errors, nb.errors
    finally:
        nb.close()


def _exercise_and_solution() -> tuple[Path, Path]:
    exercises = sorted((ROOT / "exercises").glob("*/*.ipynb"))
    assert exercises, "no student notebooks under exercises/"
    exercise = exercises[0]
    solution = ROOT / "solutions" / exercise.parent.name / exercise.name
    assert solution.exists(), solution
    return exercise, solution


def _test_cells(cells) -> list[dict]:
    return [c for c in cells if c["type"] == "code" and "_check(" in c["source"]]


def test_exercise_visible_tests_fail_unsolved_and_pass_solved(browser, lab):
    exercise, solution = _exercise_and_solution()
    folder = lab[2] / exercise.parent.name
    folder.mkdir(exist_ok=True)
    shutil.copy(exercise, folder / "unsolved.ipynb")
    # The instructor's version with its solution blocks, as a student's finished work.
    solved = json.loads(solution.read_text(encoding="utf-8"))
    (folder / "solved.ipynb").write_text(json.dumps(solved), encoding="utf-8")

    nb = Notebook(browser, lab, f"{folder.name}/unsolved.ipynb")
    try:
        tests = _test_cells(nb.run_each_cell())
        assert tests, "the student version has no visible test cells"
        for cell in tests:
            failed = [o for o in cell["outputs"] if o.get("output_type") == "error"]
            assert failed, f"a visible test passed on an unsolved exercise:\n{cell['source']}"
            assert failed[0]["ename"] in {"AssertionError", "NotImplementedError", "NameError"}
        nb.screenshot("exercise-unsolved")
    finally:
        nb.close()

    nb = Notebook(browser, lab, f"{folder.name}/solved.ipynb")
    try:
        cells = nb.run_each_cell()
        assert not _errors(cells), _errors(cells)
        assert _test_cells(cells)
        nb.screenshot("exercise-solved")
    finally:
        nb.close()
