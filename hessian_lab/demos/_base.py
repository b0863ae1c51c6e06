"""What every demo shares: the live widget, the throttled redraw and the static (site) form.

A demo is a :class:`Demo`: a matplotlib figure drawn with the Agg backend (no pyplot, so
nothing leaks as an extra figure output), the sliders that drive it, and the numbers it
shows (``state``). A slider change runs the same path whether a reader drags it or code
sets it (:meth:`Demo.update`):

1. ``_compute(**values)`` turns the control values into ``state`` (pure numbers);
2. ``_draw()`` moves the existing artists to the new state (``set_data``,
   ``set_segments``, ``set_text``; contours are the one thing re-drawn);
3. in a live widget the canvas is rendered to PNG and sent to an ``ipywidgets.Image``,
   at most once per render time: while a render is recent, later changes are coalesced
   into one trailing render, so a fast drag never queues work in the kernel.

The numbers a demo reports (eigenvalues, rates, the verdict) are not drawn in the figure:
they are HTML text beside it (:meth:`Demo.readout_html`), in the live widget and in every
frame of the static form. Text is what a screen reader reads and a reader can copy, and
drawing changing text is most of what a matplotlib 3.11 frame costs (it lays out glyphs
one by one in Python); the figure keeps only short labels attached to what they label.

Displayed in a notebook, a demo offers two forms at once (:meth:`Demo._repr_mimebundle_`):
the live widget (``application/vnd.jupyter.widget-view+json``) for JupyterLab, and a
static ``text/html`` for the built site, where the book's ``_config.yml`` drops widget
views. The static form is a scrubbable animation: a range input over PNG frames of the
same figure at the demo's key settings, with alt text for every frame and a caption.
It needs no kernel and loads nothing from the network. For print (the PDF edition) the
bundle also holds ``image/png``, a contact sheet of a few settings with their numbers
(:meth:`Demo.print_png`, module ``_print``); the LaTeX builder takes it, the HTML builder
prefers the scrubber. With ``CURVATURE_LAB_LIVE=1`` in the environment (``make lab`` sets
it), and in a browser's Python (the site's JupyterLite), neither static form is computed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import io
import json
import os
import sys
import time
from collections.abc import Iterator

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import plotting
from . import _print

__all__ = ["Demo", "LIVE_ENV"]

#: Environment variable that, set to "1", skips the static form (a live JupyterLab session).
LIVE_ENV = "CURVATURE_LAB_LIVE"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def is_live() -> bool:
    """A live session, where nobody needs the static forms: ``make lab`` (``LIVE_ENV``) or
    Python in a browser (Pyodide, the site's JupyterLite)."""
    return os.environ.get(LIVE_ENV) == "1" or sys.platform == "emscripten"


@contextlib.contextmanager
def book_style() -> Iterator[None]:
    """The book's rcParams, for the duration of a block only (global state is restored)."""
    with mpl.rc_context():
        plotting.use_book_style()
        yield


def new_figure(width: float, height: float, dpi: float = 100) -> Figure:
    """A figure on an Agg canvas, not registered with pyplot (never shown twice)."""
    fig = Figure(figsize=(width, height), dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, small: bool = False) -> bytes:
    """Encode the figure's current canvas as PNG without drawing it again.

    ``small=True`` (static frames): an adaptive 256-colour palette and full compression,
    about three times smaller; otherwise the fastest compression (live updates).
    """
    from PIL import Image

    rgba = np.asarray(fig.canvas.buffer_rgba())
    image = Image.fromarray(rgba[..., :3])
    out = io.BytesIO()
    if small:
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=0)
        image.save(out, format="png", optimize=True)
    else:
        image.save(out, format="png", compress_level=1)
    return out.getvalue()


def clip_path(points: np.ndarray, bound: float) -> np.ndarray:
    """Points with NaN/inf removed and coordinates clipped to [-bound, bound] for drawing."""
    pts = np.asarray(points, dtype=float)
    finite = np.all(np.isfinite(pts), axis=-1)
    return np.clip(pts[finite], -bound, bound)


class Demo:
    """Base class of the demos: controls, state, figure, live widget, static form.

    Subclasses set ``title`` and implement ``_make_controls``, ``_build_figure``,
    ``_compute``, ``_draw``, ``alt_text``, ``static_settings``, and usually
    ``readout_html`` (built with :func:`readout_lines`, :func:`readout_table` and
    :func:`readout_verdict`) and ``caption``.

    Attributes
    ----------
    controls : dict
        Name -> ipywidgets control (sliders, dropdowns, checkboxes).
    state : dict
        The numbers and labels the figure shows for the current control values.
    figure : matplotlib.figure.Figure or None
        The live figure (Agg canvas); its artists are updated in place. None for a demo
        made with ``figure=False`` (see :meth:`numbers`).
    """

    title = "demo"
    figsize = (9.0, 4.2)
    static_dpi = 72
    #: resolution of the printed form's panels (:meth:`print_png`)
    print_dpi = 150
    #: render the live PNG at most this often (seconds), or once per render time if slower
    min_interval = 0.04

    def __init__(self, *, figure: bool = True, **values):
        self.controls = self._make_controls()
        self.state: dict = {}
        self._suspended = False
        self._widget = None
        self._image = None
        self._readout = None
        self._pending = None
        self._last_render = -np.inf
        self._render_seconds = 0.0
        self._background = None  # (what it shows, cached static image) for blitting
        self.figure = None
        if figure:
            with book_style():
                self.figure = self._build_figure(new_figure(*self.figsize))
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self._set_values(values)
        self._refresh()

    # ---------------------------------------------------------------- subclass hooks
    def _make_controls(self) -> dict:
        raise NotImplementedError

    def _build_figure(self, fig: Figure) -> Figure:
        raise NotImplementedError

    def _compute(self, **values) -> dict:
        raise NotImplementedError

    def _draw(self) -> None:
        raise NotImplementedError

    def alt_text(self) -> str:
        """A sentence describing what the figure shows for the current state."""
        raise NotImplementedError

    def static_settings(self) -> list[dict]:
        """The control values the static form steps through (each a dict for update)."""
        raise NotImplementedError

    def frame_label(self) -> str:
        """A short label of the current setting, shown next to the static scrubber."""
        return ", ".join(f"{k} = {_fmt(v)}" for k, v in self.values().items())

    def caption(self) -> str:
        return self.title

    def readout_html(self) -> str:
        """The numbers of the current state as HTML, shown beside the figure.

        The same fragment is shown in the live widget and in each frame of the static form
        (inside a white card, so it reads the same on a dark page). The default lists the
        scalar entries of ``state``; demos override it with their own panel.
        """
        rows = [(key, _fmt(value)) for key, value in self.state.items()
                if isinstance(value, bool | int | float | str | np.floating | np.integer)]
        return readout_table(None, rows)

    # ---------------------------------------------------------------- driving the demo
    def values(self) -> dict:
        """The current control values."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values) -> Demo:
        """Set controls as a reader would (one redraw for all of them); returns self.

        Unknown names raise ValueError listing the controls.
        """
        self._set_values(values)
        self._refresh()
        return self

    def _set_values(self, values: dict) -> None:
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(
                f"unknown control(s) {sorted(unknown)} for {type(self).__name__}; "
                f"its controls are {sorted(self.controls)}"
            )
        self._suspended = True
        try:
            for name in self._control_order(values):
                self.controls[name].value = values[name]
            self._linked(set(values))
        finally:
            self._suspended = False

    def _control_order(self, values: dict) -> list:
        """Order in which to set controls (subclasses put choosers before sliders)."""
        return list(values)

    def _linked(self, changed: set) -> None:
        """Adjust controls that depend on the ones in ``changed`` (e.g. a preset's sliders).

        Called with the observers suspended, after a reader or :meth:`update` changed
        controls and before the redraw.
        """

    def _on_change(self, change) -> None:
        if self._suspended:
            return
        name = next((k for k, c in self.controls.items() if c is change.owner), None)
        self._suspended = True
        try:
            self._linked({name})
        finally:
            self._suspended = False
        self._refresh()

    @classmethod
    def numbers(cls, **values) -> dict:
        """The demo's ``state`` for these control values, computed without a figure.

        The maths of a demo, as the tests check it: no matplotlib figure is built or drawn.
        Keyword arguments are the demo's controls (and its constructor's options, such
        as the race's ``budget``); the others keep their default values.
        """
        return cls(figure=False, **values).state

    def _refresh(self) -> None:
        with book_style(), np.errstate(all="ignore"):
            self.state = self._compute(**self.values())
            if self.figure is not None:
                self._draw()
        if self._readout is not None:
            self._readout.value = readout_card(self.readout_html())
        self._request_render()

    # ---------------------------------------------------------------- live rendering
    def _dynamic_artists(self) -> list | None:
        """Artists that change with the controls (drawn over a cached background).

        None (the default) means: redraw the whole figure every time. With a list, the rest
        of the figure is rendered once and cached. The cache is dropped by itself when an
        artist is added to or removed from an axes (new contours), when axis limits, titles
        or a 3-D view change, or when the figure's size or dpi does; anything else changed
        in place outside this list (a static line's data, a legend's text) needs an
        explicit :meth:`invalidate`.
        """
        return None

    def invalidate(self) -> None:
        """Drop the cached background: the next :meth:`draw` renders the whole figure."""
        self._background = None

    def _background_key(self, dynamic: list) -> tuple:
        """What the cached background shows, cheaply: compared at every blitted draw."""
        fig = self.figure
        skip = {id(a) for a in dynamic}
        key: list = [fig.dpi, tuple(fig.get_size_inches())]
        for ax in fig.axes:
            key += [ax.get_xlim(), ax.get_ylim(), ax.get_title(), ax.get_visible()]
            if hasattr(ax, "get_zlim"):
                key += [ax.get_zlim(), ax.elev, ax.azim]
            for child in ax.get_children():
                if id(child) in skip:
                    continue
                tag = getattr(child, "_hl_drawn_tag", None)
                if tag is None:  # an artist the cached image has never seen
                    Demo._tags += 1
                    tag = child._hl_drawn_tag = Demo._tags
                key.append(tag)
        return tuple(key)

    _tags = 0

    def draw(self) -> Figure:
        """Render the figure's canvas (Agg) and return the figure.

        Blitting: the static part (axes, ticks, labels, fixed contours) is rendered once and
        cached; a change redraws only :meth:`_dynamic_artists` over that cached image.
        """
        if self.figure is None:
            raise RuntimeError(f"this {type(self).__name__} was made with figure=False "
                               "(numbers only); build it without that option to draw it")
        fig, canvas = self.figure, self.figure.canvas
        dynamic = self._dynamic_artists()
        with book_style():
            if dynamic is None:
                canvas.draw()
                return fig
            key = self._background_key(dynamic)
            if self._background is None or self._background[0] != key:
                visible = [a.get_visible() for a in dynamic]
                for a in dynamic:
                    a.set_visible(False)
                canvas.draw()
                self._background = (key, canvas.copy_from_bbox(fig.bbox))
                for a, v in zip(dynamic, visible, strict=True):
                    a.set_visible(v)
            else:
                canvas.restore_region(self._background[1])
            for a in dynamic:
                if hasattr(a, "do_3d_projection"):  # 3-D artists: project with the view
                    a.do_3d_projection()
                fig.draw_artist(a)
        return fig

    def _request_render(self) -> None:
        if self._image is None:  # no live view yet: nothing to send
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:  # called from plain Python (tests, scripts): render now
            self._render_image()
            return
        if self._pending is not None:  # a trailing render is already scheduled
            return
        wait = self._last_render + max(self.min_interval, 1.5 * self._render_seconds)
        wait -= time.perf_counter()
        if wait <= 0:
            self._render_image()
        else:
            self._pending = loop.call_later(wait, self._render_image)

    def _render_image(self) -> None:
        self._pending = None
        start = time.perf_counter()
        self.draw()
        self._image.value = png_bytes(self.figure)
        self._last_render = time.perf_counter()
        self._render_seconds = self._last_render - start

    @property
    def widget(self):
        """The ipywidgets container: controls, then the figure (an image) and its readout."""
        if self._widget is None:
            import ipywidgets as widgets

            self._readout = widgets.HTML(readout_card(self.readout_html()),
                                         layout=widgets.Layout(flex="0 1 24em"))
            self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
            self._readout.add_class("hl-demo-state")  # stable hooks for styling and tests
            self._image.add_class("hl-demo-figure")
            self._render_image()
            box = widgets.Box(list(self.controls.values()),
                              layout=widgets.Layout(flex_flow="row wrap"))
            view = widgets.Box([self._image, self._readout],
                               layout=widgets.Layout(flex_flow="row wrap",
                                                     align_items="flex-start"))
            self._widget = widgets.VBox([box, view])
        return self._widget

    # ---------------------------------------------------------------- static form
    def static_html(self, settings: list[dict] | None = None) -> str:
        """The site's form: a scrubbable animation over :meth:`static_settings`.

        PNG frames (base64) in one ``<img>`` with alt text per frame, a range input and a
        play button driven by a few lines of inline JavaScript; the first frame shows
        without JavaScript. The demo's controls are restored afterwards. ``settings``
        replaces :meth:`static_settings` (a test renders two frames, not fifteen).
        """
        frames, labels, alts, readouts = [], [], [], []
        for label, alt in self._step_through(settings, render=True):
            frames.append(base64.b64encode(png_bytes(self.figure, small=True)).decode())
            labels.append(label)
            alts.append(alt)
            readouts.append(self.readout_html())
        return scrubber_html(self.title, self.caption(), frames, labels, alts, readouts)

    def static_descriptions(self, settings: list[dict] | None = None) -> list[tuple[str, str]]:
        """(label, alt text) of every frame of the static form, computed without drawing."""
        return list(self._step_through(settings, render=False))

    def print_png(self, settings: list[dict] | None = None) -> bytes:
        """The printed form: a contact sheet of a few key settings (see ``_print``).

        Three or four of :meth:`static_settings` (``settings`` replaces the choice), drawn
        at :attr:`print_dpi`, each labelled (a), (b), ... with its setting and the
        readout's text; the caption (stored in the PNG) names the panels.
        """
        wide = self.figsize[0] > 7
        chosen = settings
        if chosen is None:  # wide figures stack in one column: three panels, two if tall
            chosen = _print.pick_settings(self.static_settings(), 3 if wide else 4)
            lines = max(len(_print.readout_text(self.readout_html())) for _ in
                        self._step_through(chosen, render=False))
            if wide and 3 * (self.figsize[1] + 0.19 * lines) > 1.6 * self.figsize[0]:
                chosen = _print.pick_settings(self.static_settings(), 2)
        frames, labels, texts = [], [], []
        for label, _alt in self._step_through(chosen, render=True, dpi=self.print_dpi):
            frames.append(np.asarray(self.figure.canvas.buffer_rgba())[..., :3].copy())
            labels.append(label)
            texts.append(_print.readout_text(self.readout_html()))
        panels = "; ".join(f"({chr(ord('a') + i)}) {label}" for i, label in enumerate(labels))
        caption = (f"{self.caption()} Printed at {len(frames)} of its settings: {panels}. "
                   "On the site the demo steps through more settings; in JupyterLab it is live.")
        return _print.contact_sheet(frames, labels, texts, caption,
                                    columns=1 if wide or len(frames) < 4 else 2,
                                    dpi=self.print_dpi)

    def _step_through(self, settings, render: bool,
                      dpi: float | None = None) -> Iterator[tuple[str, str]]:
        if render and self.figure is None:
            raise RuntimeError(f"this {type(self).__name__} was made with figure=False "
                               "(numbers only): it has no frames to render")
        saved = self.values()
        old_dpi = self.figure.get_dpi() if render else None
        try:
            if render:
                self.figure.set_dpi(dpi or self.static_dpi)
            for setting in self.static_settings() if settings is None else settings:
                self._set_values(setting)
                with book_style(), np.errstate(all="ignore"):
                    self.state = self._compute(**self.values())
                    if render:
                        self._draw()
                if render:
                    self.draw()
                yield self.frame_label(), self.alt_text()
        finally:
            if render:
                self.figure.set_dpi(old_dpi)
            self._set_values(saved)
            self._refresh()

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude, **kwargs))
        bundle["text/plain"] = f"<{self.title}: {self.frame_label()}>"
        if not is_live():
            bundle["text/html"] = self.static_html()
            bundle["image/png"] = base64.b64encode(self.print_png()).decode()
        return bundle

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.frame_label()}>"


# ------------------------------------------------------------------------ the readout
#: Text colours for the readout (on its white card): each has a contrast of at least 4.5
#: with white (WCAG AA for normal text). The figure's palette is for lines, not for text.
TEXT_COLORS = {"text": "#1a1a1a", "muted": "#555555", "warning": "#a63c00"}


def readout_card(inner: str) -> str:
    """Wrap a readout fragment in the white card it is shown in (live and static)."""
    return ('<div class="hl-readout" style="background: #ffffff; color: #1a1a1a; '
            'padding: 0.45em 0.75em; border: 1px solid #d0d0d0; border-radius: 4px; '
            'font-size: 0.9em; line-height: 1.45; min-width: 15em;">'
            f"{inner}</div>")


def readout_lines(lines) -> str:
    """Lines of plain text (escaped), one per row; empty lines are dropped."""
    return "".join(f"<div>{html.escape(line)}</div>" for line in lines if line)


def readout_verdict(text: str, colour: str) -> str:
    """A bold headline with a colour swatch (the colour of its lines in the figure).

    The swatch is decoration (``aria-hidden``): the words carry the meaning.
    """
    return ('<div style="font-weight: bold; font-size: 1.12em; margin: 0.1em 0 0.25em;">'
            f'<span aria-hidden="true" style="color: {html.escape(colour)};">&#9632;</span> '
            f"{html.escape(text)}</div>")


def readout_note(text: str, warning: bool = False) -> str:
    """A short paragraph under the numbers (a warning is dark vermillion)."""
    colour = TEXT_COLORS["warning" if warning else "muted"]
    return (f'<div style="color: {colour}; margin-top: 0.3em; max-width: 24em;">'
            f"{html.escape(text)}</div>")


def readout_table(header, rows, caption: str | None = None) -> str:
    """A small table: ``header`` (column titles, or None) and rows whose first cell names it.

    Numbers are right-aligned in tabular figures, so columns line up as the values change.
    """
    esc = html.escape
    cell = 'style="text-align: right; padding: 0 0 0 0.9em; white-space: nowrap;"'
    out = ['<table style="border-collapse: collapse; font-variant-numeric: tabular-nums; '
           'margin: 0.15em 0;">']
    if caption:
        out.append('<caption style="text-align: left; font-weight: bold; color: #1a1a1a; '
                   f'caption-side: top;">{esc(caption)}</caption>')
    if header:
        first = 'style="text-align: left;"'
        out.append("<thead><tr>" + "".join(
            f'<th scope="col" {cell if i else first}>{esc(h)}</th>'
            for i, h in enumerate(header)) + "</tr></thead>")
    out.append("<tbody>")
    for name, *values in rows:
        out.append(f'<tr><th scope="row" style="text-align: left; font-weight: normal; '
                   f'white-space: nowrap;">{esc(name)}</th>'
                   + "".join(f"<td {cell}>{esc(v)}</td>" for v in values) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _fmt(value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


_SCRIPT = """
(function () {
  var root = document.getElementById("%(uid)s");
  if (!root) { return; }
  var frames = %(frames)s, labels = %(labels)s, alts = %(alts)s, readouts = %(readouts)s;
  var img = root.querySelector("img"), range = root.querySelector("input");
  var readout = root.querySelector(".hl-demo-readout");
  var out = root.querySelector("output"), button = root.querySelector("button");
  var timer = null;
  function show(i) {
    img.src = "data:image/png;base64," + frames[i];
    img.alt = alts[i];
    out.textContent = labels[i];
    if (readout && readouts.length) { readout.innerHTML = readouts[i]; }
    range.value = i;
    range.setAttribute("aria-valuetext", labels[i]);
  }
  range.addEventListener("input", function () { show(parseInt(range.value, 10)); });
  button.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; button.textContent = "Play"; return; }
    button.textContent = "Pause";
    timer = setInterval(function () {
      var i = (parseInt(range.value, 10) + 1) %% frames.length;
      show(i);
      if (i === frames.length - 1) { clearInterval(timer); timer = null;
                                     button.textContent = "Play"; }
    }, 700);
  });
})();
"""


def scrubber_html(title: str, caption: str, frames: list, labels: list, alts: list,
                  readouts: list | None = None) -> str:
    """HTML of a scrubbable animation: one image, a range input over the frames, a caption.

    ``readouts`` (one HTML fragment per frame, see :meth:`Demo.readout_html`) are shown in a
    card beside the image and change with it (a polite live region: a screen reader reads
    the new numbers after a step).
    """
    readouts = [readout_card(r) for r in readouts] if readouts else []
    digest = hashlib.sha1((title + "".join(labels)).encode()).hexdigest()[:10]
    uid = f"hl-demo-{digest}"
    esc = html.escape
    n = len(frames)
    script = _SCRIPT % {
        "uid": uid,
        "frames": json.dumps(frames),
        "labels": json.dumps(labels).replace("</", "<\\/"),
        "alts": json.dumps(alts).replace("</", "<\\/"),
        "readouts": json.dumps(readouts).replace("</", "<\\/"),
    }
    side = (f'<div class="hl-demo-readout" aria-live="polite" style="flex: 0 1 24em;">'
            f"{readouts[0]}</div>\n" if readouts else "")
    return (
        f'<figure id="{uid}" class="hl-demo" role="group" aria-label="{esc(title)}" '
        'style="margin: 1em 0;">\n'
        '<div class="hl-demo-view" style="display: flex; flex-wrap: wrap; gap: 0.8em; '
        'align-items: flex-start;">\n'
        f'<img src="data:image/png;base64,{frames[0]}" alt="{esc(alts[0])}" '
        'style="max-width: 100%; height: auto; background: white;">\n'
        f"{side}</div>\n"
        '<div class="hl-demo-controls" style="display: flex; gap: 0.6em; '
        'align-items: center; flex-wrap: wrap;">\n'
        '<button type="button" style="min-width: 4.5em;">Play</button>\n'
        f'<input type="range" min="0" max="{n - 1}" step="1" value="0" '
        f'aria-label="{esc(title)}: setting" aria-valuetext="{esc(labels[0])}" '
        'style="flex: 1 1 16em;">\n'
        f"<output>{esc(labels[0])}</output>\n</div>\n"
        f"<figcaption>{esc(caption)} (Static view: drag the slider to step through "
        f"{n} settings; for the live demo, run it live below or in JupyterLab.)</figcaption>\n"
        f"</figure>\n<script>{script}</script>\n"
    )
