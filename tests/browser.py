"""Headless Chromium for the browser tests: find or install it, serve the site, block the network.

Chromium comes from Debian's `chromium` package (installed here with apt-get when missing and
running as root); Playwright's Python package drives it through `executable_path`, since
Playwright's own browser download cannot work without the network. Without Chromium the tests
skip with a printed reason, or fail when CI is set.
"""

from __future__ import annotations

import functools
import http.server
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from apt import apt_install
from conftest import skip_or_fail

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_or_install_chromium() -> str:
    """Return the path of a Chromium binary, installing Debian's package when possible."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        print("[browser] chromium missing: installing Debian's chromium package with apt-get")
        proc = apt_install(["chromium"], done=lambda: shutil.which("chromium") is not None)
        path = shutil.which("chromium")
        if path:
            return path
        skip_or_fail(f"could not install chromium with apt-get: {proc.stderr[-500:]}")
    skip_or_fail("chromium is not installed and cannot be installed here "
                 "(needs root and apt-get); install Debian's 'chromium' package")
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextmanager
def static_server(directory: Path, handler_class=None):
    """A plain static HTTP server on a free localhost port, stopped on exit (``handler_class``:
    a SimpleHTTPRequestHandler of one's own, e.g. one that counts what it sends)."""
    handler = functools.partial(handler_class or _QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost", "::1")


class NetworkGuard:
    """Blocks and counts every request that would leave localhost."""

    def __init__(self):
        self.external: list[str] = []

    def __call__(self, route):
        url = route.request.url
        if is_local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


@contextmanager
def jupyterlab_server(root: Path, cwd: Path | None = None, env: dict | None = None,
                      as_make_lab: bool = False):
    """A JupyterLab server on a free localhost port with a random token, serving ``root``
    (started in ``cwd``, default ``root``: the formgrader reads the nbgrader config there),
    with its own config and runtime folders and no news or update checks; yields (base url,
    token). Stopped on exit whatever happens.

    With ``as_make_lab`` the news and update checks are left to the JupyterLab defaults that
    ``make lab`` uses (``book/_lab``), so a test sees what a student sees."""
    bin_dir = Path(sys.executable).parent
    port, token = free_port(), secrets.token_hex(16)
    state = Path(root) / ".jupyter-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTER_RUNTIME_DIR=str(state / "runtime"), MPLBACKEND="Agg",
               OPENBLAS_NUM_THREADS="1", **(env or {}))
    cmd = [str(bin_dir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=False"]
    if as_make_lab:
        env["JUPYTER_CONFIG_PATH"] = str(Path(__file__).resolve().parents[1] / "book" / "_lab")
    else:
        cmd += ["--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run tests as root
    state.mkdir(parents=True, exist_ok=True)
    log_path = state / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, env=env, cwd=cwd or root, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError as err:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("JupyterLab did not start:\n"
                                         + log_path.read_text()[-3000:]) from err
                time.sleep(0.5)
        yield base, token
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


#: axe-core, the accessibility engine the site is checked with (the npm package, pinned).
AXE_VERSION = "4.14.1"
AXE_DIR = Path(__file__).resolve().parents[1] / "_build" / f"axe-core-{AXE_VERSION}"


def axe_source() -> str:
    """The text of axe-core's ``axe.min.js``, installed from the npm registry when missing.

    npm checks the package against the registry's integrity hash. Node.js and npm come from
    the machine or, as root, from Debian's ``npm`` package; without them the tests skip with
    the reason (fail under CI).
    """
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        if shutil.which("npm") is None and os.name == "posix" and os.geteuid() == 0 \
                and shutil.which("apt-get"):
            print("[axe] npm missing: installing Debian's npm package with apt-get")
            apt_install(["npm"], done=lambda: shutil.which("npm") is not None)
        if shutil.which("npm") is None:
            skip_or_fail("npm is not installed and cannot be installed here: axe-core "
                         "(the accessibility checker) comes from the npm registry")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
             str(AXE_DIR), f"axe-core@{AXE_VERSION}"],
            capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not script.exists():
            skip_or_fail(f"could not install axe-core {AXE_VERSION} with npm: "
                         f"{(proc.stderr or proc.stdout)[-500:]}")
    return script.read_text(encoding="utf-8")


#: The axe rules run on the site: WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
#: Impacts that fail a page; moderate and minor findings are printed only.
WCAG_FAILING = ("serious", "critical")

_RUN_AXE_JS = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => ({target: n.target.join(' '),
                                          summary: n.failureSummary || ''})),
    count: v.nodes.length,
  }));
}"""


def axe_violations(page, axe: str) -> list[dict]:
    """Run axe-core (its source text, see :func:`axe_source`) on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe)
    return page.evaluate(_RUN_AXE_JS, WCAG_TAGS)


def wcag_report(where: str, violations: list[dict]) -> str:
    lines = [f"{where}:"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']} elements)")
        for node in v["nodes"]:
            lines.append(f"      {node['target']}: {' '.join(node['summary'].split())[:300]}")
    return "\n".join(lines)


def assert_wcag_aa(page, axe: str, where: str) -> None:
    """No serious or critical WCAG 2.x A/AA violation on the page; the others are printed."""
    violations = axe_violations(page, axe)
    other = [v for v in violations if v["impact"] not in WCAG_FAILING]
    if other:
        print("moderate or minor accessibility findings (not failed):\n"
              + wcag_report(where, other))
    bad = [v for v in violations if v["impact"] in WCAG_FAILING]
    assert not bad, ("WCAG 2.2 A/AA violations (serious or critical):\n"
                     + wcag_report(where, bad))
