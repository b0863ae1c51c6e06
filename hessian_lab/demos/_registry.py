"""The one list of demos: which chapter shows each, and a reader's drag for its benchmark.

A demo's factory (``hessian_explorer``, ...) is registered where it is defined::

    @register(1, chapter="13_geometry_2d",
              drag=lambda: [{"b": b} for b in np.linspace(-3, 3, 40)])
    def hessian_explorer(...): ...

and :data:`DEMOS` is what the tests (every chapter's demo is registered, every registered
demo is shown in its chapter, its static form and its drag work) and
``benchmarks/bench_demos.py`` read. Nothing else lists the demos.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEMOS", "DemoEntry", "register"]


@dataclass(frozen=True)
class DemoEntry:
    """A registered demo.

    Attributes
    ----------
    number : int
        The demo's number (the order of the source essay's list of demos).
    name : str
        The factory's name, as a chapter calls it: ``demos.<name>()``.
    factory : callable
        Builds the demo with its default settings.
    chapter : str
        The file stem of the chapter that shows it (``book/<chapter>.ipynb``).
    drag : callable
        Returns a list of control settings, a reader dragging one control: what the
        benchmark times and the tests replay.
    """

    number: int
    name: str
    factory: Callable
    chapter: str
    drag: Callable[[], list[dict]]


#: name -> :class:`DemoEntry`, in the order of the demos' numbers
DEMOS: dict[str, DemoEntry] = {}


def register(number: int, *, chapter: str, drag: Callable[[], list[dict]]):
    """Register the decorated demo factory under its own name (see the module docstring)."""

    def decorate(factory: Callable) -> Callable:
        name = factory.__name__
        if name in DEMOS or any(e.number == number for e in DEMOS.values()):
            raise ValueError(f"demo {name!r} or number {number} is registered twice")
        entries = [*DEMOS.values(), DemoEntry(number, name, factory, chapter, drag)]
        DEMOS.clear()
        DEMOS.update((e.name, e) for e in sorted(entries, key=lambda e: e.number))
        return factory

    return decorate
