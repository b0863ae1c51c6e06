"""Shared fixtures and paths for the test suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def in_ci() -> bool:
    """True when running under CI, where missing system packages fail instead of skip."""
    return bool(os.environ.get("CI"))


def skip_or_fail(reason: str) -> None:
    """Skip with a printed reason locally; fail when CI is set (never skip in CI)."""
    print(f"[skip-or-fail] {reason}")
    if in_ci():
        pytest.fail(f"CI is set, so this cannot be skipped: {reason}")
    pytest.skip(reason)


#: Fixtures that need the built book: the tests that use them share one xdist worker.
SITE_FIXTURES = {"site", "pdf_build", "pdf", "pdf_text", "edition", "student_lab"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Groups for pytest-xdist (`make test` runs ``-n 2 --dist loadgroup``).

    Every test that needs the built site runs on one worker, so the PDF and the site are built
    once and every page test follows the build; the other tests stay together by file, so a
    file's JupyterLab server, browser or PostgreSQL starts once, and the files share the other
    worker (and this one, once the site's tests are done). Without xdist the marks do nothing.
    It runs first: xdist's own hook turns the marks into the groups, and a mark added after
    that is ignored (every test would then be scheduled alone, and both workers would build
    the site at once).
    """
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        group = "site" if names & SITE_FIXTURES else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """In an xdist worker with ``--dist loadgroup``: the groups must have reached the node ids
    (xdist's only way of telling its scheduler), or the run stops here with the reason. With
    pytest 9.2 they do not (pytest-xdist issue #1386), which is why requirements.in caps it."""
    config = session.config
    if not (hasattr(config, "workerinput") and config.getoption("loadgroup", False)):
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        message = (f"pytest-xdist's --dist loadgroup ignores the test groups with pytest "
                   f"{pytest.__version__} (pytest-xdist issue #1386), e.g. {lost[0]}: both "
                   "workers would build the site at once. Install the lock (make test does), "
                   "or run with TEST_WORKERS=0.")
        print(message, file=sys.stderr)      # a worker's exception reaches the log unnamed
        raise pytest.UsageError(message)


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def build_book(path: Path, *extra: str) -> subprocess.CompletedProcess:
    """Build a Jupyter Book with warnings as errors (as `make book` does)."""
    cmd = [str(BIN / "jupyter-book"), "build", str(path), "--builder", "html",
           "-W", "-n", "--keep-going", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=3600)


@pytest.fixture(scope="session")
def pdf_build() -> dict:
    """The PDF edition, built once per session before the site (see tests/test_pdf.py).

    Built first so that one site build links and serves it (the site copies the PDF when it
    exists) and the chapters run once, for both. A missing TeX Live is installed; what went
    wrong is recorded, not raised, and the PDF tests report it (skip, or fail under CI).
    """
    from texlive import install, missing

    if missing() and (reason := install()) is not None:
        return {"skip": reason}
    pdf = ROOT / "_build" / "latex" / "book.pdf"
    pdf.unlink(missing_ok=True)
    cmd = [str(BIN / "jupyter-book"), "build", str(ROOT), "--builder", "pdflatex",
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    return {"proc": proc, "path": pdf}


@pytest.fixture(scope="session")
def site(pdf_build) -> Path:
    """The book, built once per session into _build/html (execution cached per notebook)."""
    proc = build_book(ROOT)
    if proc.returncode != 0:
        log = proc.stdout + proc.stderr
        pytest.fail("jupyter-book build failed (warnings are errors):\n" + log[-6000:])
    return ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's package, installed when missing) driven by Playwright."""
    from browser import CHROMIUM_ARGS, find_or_install_chromium
    from playwright.sync_api import sync_playwright

    executable = find_or_install_chromium()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def axe() -> str:
    """axe-core's source, to inject into pages (npm package, installed when missing)."""
    from browser import axe_source

    return axe_source()


def ensure_sandbox() -> None:
    """bubblewrap for the grading sandbox: Debian's package, installed with apt when missing
    (as root); skipped with the reason locally, failed under CI, when no sandbox can be made."""
    import shutil

    from hessian_lab.course import sandbox

    if shutil.which("bwrap") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        from apt import apt_install

        print("[sandbox] installing bubblewrap with apt-get")
        apt_install(["bubblewrap"], timeout=600, done=lambda: shutil.which("bwrap") is not None)
    problem = sandbox.probe()
    if problem:
        skip_or_fail(f"no grading sandbox here: {problem}")
