"""Calling student code: a time limit, warnings and output captured, every failure turned into a
message for the student, and the run-time watch on what the function calls."""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable

import numpy as np

from .._monitor import Watch as _Watch
from .session import (
    _FORBIDDEN,
    _STATE,
    _catch_warnings,
    _describe_type,
    _Fail,
    _isinstance,
    _len,
    _print,
    _setitimer,
    _signal,
    _simplefilter,
    _Timeout,
)

# the package's own frames are left out of the tracebacks shown to students
_GRADING_DIR = os.path.dirname(os.path.realpath(__file__)) + os.sep
_NOTES: list[str] = []


def _note(text: str) -> None:
    if text not in _NOTES:
        _NOTES.append(text)


def _flush_notes() -> None:
    for text in _NOTES:
        _print("note: " + text)
    _NOTES.clear()


class _Capture:
    """A bounded text sink standing in for sys.stdout / sys.stderr during a student call."""

    def __init__(self, limit: int = 1500):
        self.parts, self.kept, self.total, self.limit = [], 0, 0, limit

    def write(self, text) -> int:
        text = str(text)
        self.total += _len(text)
        if self.kept < self.limit:
            piece = text[: self.limit - self.kept]
            self.parts.append(piece)
            self.kept += _len(piece)
        return _len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def text(self) -> str:
        body = "".join(self.parts)
        if self.total > self.kept:
            body += f" ... ({self.total} characters in all)"
        return body


def _timeout_message() -> str:
    return (f"did not return within {_STATE.time_limit:g} s (infinite loop?). Check the "
            "loop's stopping condition, and that every iteration changes what it tests.")


def _memory_message() -> str:
    limit = _STATE.memory_limit
    cap = f" (the grading kernel allows about {limit / 2**30:.1f} GiB)" if limit else ""
    return ("ran out of memory" + cap + ": does it build an n x n matrix? This part must "
            "work with vectors only (O(n) memory).")


def _student_frames(tb) -> str:
    """The last line of the student's own code in a traceback, if any."""
    frames = [f for f in traceback.extract_tb(tb)
              if not os.path.realpath(f.filename).startswith(_GRADING_DIR)
              and "site-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f" (in {frame.name}: `{line}`)" if line else f" (in {frame.name})"


def _guarded(name: str, run: Callable, expect: tuple = (), passed: tuple = ()):
    """Call ``run()`` (which calls the student's code) under the time limit, with warnings and
    stdout/stderr captured; turn anything that goes wrong into a _Fail with a clear message.

    Exceptions listed in ``expect`` are returned (not raised) so a test can require them.
    """
    use_timer = _setitimer is not None and threading.current_thread() is threading.main_thread()
    fired = []

    def on_alarm(signum, frame):
        fired.append(True)
        raise _Timeout()

    out, err = _Capture(), _Capture()
    saved_out, saved_err = sys.stdout, sys.stderr
    previous = None
    watch = _Watch(_FORBIDDEN.get(_STATE.part, ()), passed)
    try:
        with _catch_warnings(record=True) as caught:
            _simplefilter("always")
            if use_timer:
                previous = _signal(signal.SIGALRM, on_alarm)
                # repeat every 0.5 s after the first alarm, in case the student's code
                # swallows the first exception with a bare except
                _setitimer(signal.ITIMER_REAL, _STATE.time_limit, 0.5)
            sys.stdout, sys.stderr = out, err
            try:
                with watch:
                    result = run()
            finally:
                if use_timer:
                    _setitimer(signal.ITIMER_REAL, 0, 0)
                sys.stdout, sys.stderr = saved_out, saved_err
                _watch_verdict(name, watch)
            if fired:
                raise _Timeout()
    except _Timeout:
        _report_output(name, out, err, ())
        raise _Fail(f"{name} {_timeout_message()}") from None
    except expect as exc:
        _report_output(name, out, err, ())
        return exc
    except NotImplementedError:
        raise _Fail(f"{name} is not written yet: it still raises NotImplementedError. Replace "
                    "`raise NotImplementedError()` with your code.") from None
    except MemoryError:
        raise _Fail(f"{name} {_memory_message()}") from None
    except RecursionError:
        raise _Fail(f"{name} recursed without end (RecursionError).") from None
    except _Fail:
        raise
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises
        _report_output(name, out, err, ())
        where = _student_frames(exc.__traceback__)
        kind = type(exc).__name__
        text = str(exc)
        text = (text[:300] + "...") if _len(text) > 300 else text
        raise _Fail(f"{name} raised {kind}: {text}{where}") from None
    finally:
        if use_timer and previous is not None:
            _signal(signal.SIGALRM, previous)
    _report_output(name, out, err, caught)
    return result


def _watch_verdict(name: str, watch) -> None:
    """Fail the test when the run-time watch saw a forbidden call, copied code or tampering."""
    if watch.switched:
        raise _Fail(f"{name} switched off the grader's watch on the code it calls "
                    "(sys.setprofile or sys.settrace) while being graded, so this test cannot "
                    "trust its result. [review: grading tampered]")
    if watch.copied:
        raise _Fail(f"{name} runs the library's own code of {', '.join(watch.copied)} (its "
                    "source copied, perhaps renamed): this part earns no credit for it. "
                    "Write the function yourself. [review: copied library code]")
    if watch.found:
        names = _FORBIDDEN.get(_STATE.part, ())
        raise _Fail(f"{name} called {', '.join(watch.found[:3])} while it ran, which this "
                    "part does not allow (however the name is obtained: importlib, getattr, "
                    "sys.modules, ...): it is the library's reference or a ready-made routine "
                    "for what you are asked to write, so this part earns no credit. Not "
                    "allowed here: " + ", ".join(names) + ". Write it yourself with numpy "
                    "(see the instructions).")


def _report_output(name, out, err, caught) -> None:
    for w in caught:
        category = getattr(w.category, "__name__", "Warning")
        _note(f"{name} issued a warning (not penalised): {category}: {w.message}")
    if err.total:
        _note(f"{name} wrote to stderr (shown here, not penalised): {err.text()}")
    if out.total:
        _note(f"{name} printed: {out.text()}")


def _call(name: str, fn, *args, convert: Callable | None = None, expect: tuple = ()):
    """Call the student's ``fn(*args)`` safely; ``convert`` runs on the result, also guarded."""
    if not callable(fn):
        raise _Fail(f"{name} is not a function (it is {_describe_type(fn)}); define it with "
                    f"`def {name}(...)` in the solution cell and run that cell.")
    copies = tuple(_copy_arg(a) for a in args)

    def run():
        value = fn(*copies)
        return convert(value) if convert is not None else value

    return _guarded(name, run, expect, passed=copies)


def _copy_arg(value):
    """Give the student copies of arrays, so that modifying an argument cannot change ours."""
    if _isinstance(value, np.ndarray):
        return value.copy()
    if _isinstance(value, list):
        return [_copy_arg(v) for v in value]
    return value
