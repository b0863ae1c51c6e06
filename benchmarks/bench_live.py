"""Benchmark the live site: the first result of Python in the browser, cold and warm.

Run from the repository root after ``make book`` (which builds ``_build/html/lite``)::

    python benchmarks/bench_live.py              # 2 cold and 2 warm starts
    python benchmarks/bench_live.py --repeat 1

The site is served from ``_build/html`` on localhost and opened in headless Chromium (Debian's
package, as the tests use it) with every request that would leave the machine aborted and
counted. One start is: open the live site's REPL with a cell that imports numpy and
``hessian_lab`` and prints a number computed with them, and wait until the number is on the
screen (Pyodide's download and start, the packages' download and import, the cell's run).

* cold: a fresh browser profile (nothing cached, as a reader's first visit);
* warm: the same profile again (the browser's HTTP cache holds Pyodide and the wheels).

Printed: the median seconds of each, the bytes the site's server sent until the number
showed (response bodies, counted by the server) and, as the reference run in the same
process, the same cell in a native CPython subprocess of the venv: browser / native is the
ratio. Targets on the 2-core machine
(issue 15): at most 20 s cold and 10 s warm, at most 40 MB fetched on the first visit.
"""

from __future__ import annotations

import argparse
import http.server
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import (  # noqa: E402
    CHROMIUM_ARGS,
    find_or_install_chromium,
    is_local,
    static_server,
)

CODE = ("import numpy as np, hessian_lab as hl\n"
        "print('kappa', round(float(np.linalg.cond(hl.rosenbrock().hess(np.ones(2)))), 1))")
TARGETS = {"cold": 20.0, "warm": 10.0, "megabytes": 40.0}


def native_seconds() -> float:
    """The same cell in a fresh CPython of the venv (its import time included)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.startswith("kappa"), out.stdout
    return time.perf_counter() - start


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site and counts the bytes of every response body it sends (the server's
    count: it sees the requests of the page, its workers and its service worker alike)."""

    sent = 0
    by_path: dict[str, int] = {}
    lock = threading.Lock()

    def copyfile(self, source, outputfile):
        before = source.tell()
        shutil.copyfileobj(source, outputfile)
        size = source.tell() - before
        with CountingHandler.lock:
            CountingHandler.sent += size
            path = self.path.split("?")[0]
            CountingHandler.by_path[path] = CountingHandler.by_path.get(path, 0) + size

    def log_message(self, *args):
        pass


def one_start(context, base: str) -> tuple[float, int, str]:
    """Seconds from navigation to the printed number, bytes served, the number's line."""
    page = context.new_page()
    url = (f"{base}/lite/repl/index.html?kernel=python&toolbar=1&code="
           + urllib.parse.quote(CODE))
    CountingHandler.sent = 0
    CountingHandler.by_path = {}
    start = time.perf_counter()
    page.goto(url, wait_until="commit")
    line = page.locator(".jp-OutputArea-output", has_text="kappa").first
    line.wait_for(state="visible", timeout=300_000)
    seconds = time.perf_counter() - start
    sent = CountingHandler.sent
    text = line.inner_text().strip()
    page.close()
    return seconds, sent, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    site = ROOT / "_build" / "html"
    if not (site / "lite" / "repl" / "index.html").is_file():
        print("skipped: no live site in _build/html/lite (`make book` builds it)")
        return
    from playwright.sync_api import sync_playwright

    native = statistics.median(native_seconds() for _ in range(3))
    cold, warm, cold_bytes, warm_bytes, external = [], [], [], [], []
    with static_server(site, CountingHandler) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_or_install_chromium(),
                                    args=CHROMIUM_ARGS, headless=True)
        for _ in range(args.repeat):
            # no request routing: Playwright turns the HTTP cache off for a routed context,
            # and the warm start is about that cache. Requests that would leave the machine
            # are counted instead (this machine has no network to send them to).
            leaving: list[str] = []
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            context.on("request", lambda r, out=leaving: is_local(r.url) or out.append(r.url))
            s, b, text = one_start(context, base)
            cold.append(s)
            cold_bytes.append(b)
            s, b, _ = one_start(context, base)
            warm.append(s)
            warm_bytes.append(b)
            external += leaving
            context.close()
        browser.close()
    rows = [("cold (first visit)", statistics.median(cold), statistics.median(cold_bytes),
             TARGETS["cold"]),
            ("warm (cached)", statistics.median(warm), statistics.median(warm_bytes),
             TARGETS["warm"])]
    print(f"cell: {CODE!r}")
    print(f"result in the browser: {text}")
    print(f"native CPython (reference, same cell): {native:.2f} s")
    print(f"{'start':<20}{'seconds':>9}{'target':>8}{'/ native':>10}{'MB fetched':>12}")
    for name, seconds, fetched, target in rows:
        print(f"{name:<20}{seconds:9.1f}{target:8.0f}{seconds / native:10.1f}"
              f"{fetched / 1e6:12.1f}")
    print(f"first download target: {TARGETS['megabytes']:.0f} MB; "
          f"requests leaving localhost: {len(external)}")


if __name__ == "__main__":
    main()
