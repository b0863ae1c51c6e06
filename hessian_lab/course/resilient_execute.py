"""nbgrader's Execute, made to lose only the cell that went wrong.

nbgrader gives a whole notebook 0 when one cell's kernel stops answering: a cell that runs
past ``Execute.timeout`` inside one long call into LAPACK does not answer the interrupt in time
("Timeout waiting for IOPub output"), and a cell that kills its kernel ends the execution
("Kernel died"). :class:`ResilientExecute` catches both, notes which cell it was, and executes
the notebook again from a fresh kernel with that cell replaced by a stub that raises (at most
``max_skips`` times). The skipped cell keeps its source, and its output says what happened, so
the student's feedback shows it; everything before and after it is graded as usual.

It runs in the trusted ``nbgrader autograde`` process. What it found is written as JSON to
``$CURVATURE_LAB_EXECUTION_REPORT`` (a path outside every sandbox), which ``grade.py`` turns
into flags. ``tools/grade.py`` installs it in place of ``Execute`` in the course's
``nbgrader_config.py``.
"""

from __future__ import annotations

import copy
import json
import os
import signal

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

REPORT_ENV = "CURVATURE_LAB_EXECUTION_REPORT"


def _death_cause(code) -> str:
    """Words for a kernel's exit status (bwrap passes on its child's status)."""
    if code is None:
        return "the kernel died"
    if code < 0:
        code = 128 - code  # a signal number as a shell would show it
    if code > 128:
        number = code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        causes = {"SIGKILL": "killed (SIGKILL: the memory, CPU-time or process limit, or "
                             "the operating system ran out of memory)",
                  "SIGXCPU": "stopped at the sandbox's CPU-time limit (SIGXCPU)",
                  "SIGSEGV": "crashed (segmentation fault)",
                  "SIGABRT": "aborted (SIGABRT, e.g. a failed assertion in a C library)",
                  "SIGXFSZ": "stopped for writing a file over the size limit (SIGXFSZ)"}
        return "the kernel " + causes.get(name, f"was killed by {name}")
    return f"the kernel exited with status {code} (os._exit, sys.exit in a thread, ...)"


def _label(cell) -> str:
    """How the instructor and the student recognise a cell: its grade id or its first line."""
    grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
    if grade_id:
        return f"cell {grade_id}"
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return f"the cell starting `{first[:50]}`"


class ResilientExecute(Execute):
    """Execute that re-runs the notebook without a cell that hung or killed the kernel."""

    max_skips = Integer(4, help="Cells that may be skipped before giving up.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        original = copy.deepcopy(nb)
        skipped: dict[int, str] = {}
        while True:
            work = copy.deepcopy(original)
            for index, reason in skipped.items():
                work.cells[index].source = (
                    f"raise RuntimeError({('skipped by the grader: ' + reason)!r})")
            self._running = None
            self._death_code = None
            try:
                result_nb, resources = super().preprocess(work, resources, km)
            except (CellTimeoutError, DeadKernelError) as exc:
                index = self._running
                if index is None or index in skipped or len(skipped) >= self.max_skips:
                    self._report(skipped, fatal=str(exc).splitlines()[0][:300])
                    raise
                if isinstance(exc, DeadKernelError):
                    reason = _death_cause(self._death_code) + " while this cell ran"
                else:
                    reason = (f"this cell ran past the {self.timeout} s limit and did not "
                              "answer the interrupt (a long call into compiled code?)")
                self.log.warning("cell %d: %s; executing the notebook again without it",
                                 index, reason)
                skipped[index] = f"{_label(original.cells[index])}: {reason}"
                km = None
                continue
            for index, reason in skipped.items():
                cell = result_nb.cells[index]
                cell.source = original.cells[index].source
                cell.outputs = [NotebookNode(
                    output_type="error", ename="CellSkipped",
                    evalue=reason.split(": ", 1)[-1] + "; the notebook was graded without it.",
                    traceback=["CellSkipped: " + reason.split(": ", 1)[-1]
                               + "; the notebook was graded without it."])]
            self._report(skipped)
            return result_nb, resources

    def preprocess_cell(self, cell, resources, index):
        self._running = index
        return super().preprocess_cell(cell, resources, index)

    async def _async_check_alive(self) -> None:
        try:
            await super()._async_check_alive()
        except DeadKernelError:
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            self._death_code = process.poll() if process is not None else None
            raise

    def _report(self, skipped: dict[int, str], fatal: str = "") -> None:
        path = os.environ.get(REPORT_ENV)
        if not path:
            return
        with open(path, "w") as handle:
            json.dump({"skipped": {str(k): v for k, v in skipped.items()}, "fatal": fatal},
                      handle)
