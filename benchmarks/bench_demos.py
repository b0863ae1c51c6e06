"""Benchmark the demos: slider change -> drawn canvas (Agg), in place against rebuilt.

Run from the repository root::

    python benchmarks/bench_demos.py            # 15 changes per demo
    python benchmarks/bench_demos.py --repeat 5 # quicker

For each demo, the same sequence of control values is applied two ways in one process:

* in place (the demos' way): ``demo.update(**values)`` (recompute the state, move the
  existing artists), ``demo.draw()`` (blit the changed artists over the cached static
  background on the Agg canvas) and ``demo.readout_html()`` (the numbers shown as text
  beside the figure);
* naive (what ``ipywidgets.interact`` with a plotting function does): build a fresh
  figure with all its artists for that setting, compute, draw the whole canvas.

Both include the maths. Printed: median milliseconds each way, and naive / in place.
Target: in place median at most 25 ms, and faster than naive. (Sending the PNG to the
browser adds a few ms in a live session; not included in either column.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hessian_lab import demos  # noqa: E402
from hessian_lab.demos._base import book_style, new_figure  # noqa: E402

# every registered demo, with the drag its registration gives (hessian_lab/demos/_registry.py)
CASES = {f"{entry.number} {name}": (entry.factory, entry.drag())
         for name, entry in demos.DEMOS.items()}


def in_place(demo, values) -> float:
    start = time.perf_counter()
    demo.update(**values)
    demo.draw()
    demo.readout_html()  # the numbers beside the figure, as the live widget shows them
    return time.perf_counter() - start


def naive(demo, values) -> float:
    """A fresh figure for this setting: what a rebuild-per-change callback costs."""
    start = time.perf_counter()
    settings = {**demo.values(), **values}
    with book_style(), np.errstate(all="ignore"):
        fresh = type(demo).__new__(type(demo))
        fresh.__dict__.update({k: v for k, v in demo.__dict__.items()
                               if k.startswith("_run") or k in ("budget",)})
        fresh._problem_drawn = fresh._n_drawn = fresh._drawn_sharpness = None
        fresh._surface = fresh._f_contours = None
        fresh._runs = dict(getattr(demo, "_runs", {}))  # same cached optimizer runs
        fresh.figure = fresh._build_figure(new_figure(*demo.figsize))
        fresh.state = fresh._compute(**settings)
        fresh._draw()
        fresh.figure.canvas.draw()
        fresh.readout_html()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15, help="changes timed per demo")
    args = parser.parse_args()
    print(f"demos: median ms from a control change to a drawn Agg canvas "
          f"({args.repeat} changes each, after 3 warm-up changes)")
    print(f"{'demo':26s} {'in place':>10s} {'naive':>10s} {'naive/in place':>15s}  target")
    for name, (factory, changes) in CASES.items():
        demo = factory()
        demo.draw()
        for values in changes[:3]:  # warm up: caches, fonts, the first full draw
            in_place(demo, values)
            naive(demo, values)
        timed = changes[3:3 + args.repeat]
        fast = [in_place(demo, v) for v in timed]
        slow = [naive(demo, v) for v in timed]
        fast_ms, slow_ms = 1e3 * statistics.median(fast), 1e3 * statistics.median(slow)
        ok = "ok" if fast_ms <= 25 and fast_ms < slow_ms else "MISSED"
        print(f"{name:26s} {fast_ms:10.1f} {slow_ms:10.1f} {slow_ms / fast_ms:15.1f}  {ok}")


if __name__ == "__main__":
    main()
