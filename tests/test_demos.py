"""The demos driven from Python: set a control, check that what is displayed follows the maths."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import ROOT

from hessian_lab import demos

pytestmark = pytest.mark.filterwarnings("error")


def line_data(line):
    x, y = line.get_data()
    return np.asarray(x, dtype=float).copy(), np.asarray(y, dtype=float).copy()


def check_static(demo, min_frames=2):
    """The static form: an <img> with alt text, a scrubber over the frames, no network.

    Every frame's label and alt text are checked (computed without drawing); two frames,
    the first and the last, are rendered to PNG, enough to check the page."""
    settings = demo.static_settings()
    assert len(settings) >= min_frames
    described = demo.static_descriptions()
    assert len(described) == len(settings)
    assert all(label.strip() and alt.strip() for label, alt in described), \
        "every frame needs a label and alt text"
    assert len({alt for _, alt in described}) > 1, "the alt text must follow the frames"
    page = demo.static_html([settings[0], settings[-1]])
    assert "<img" in page and 'src="data:image/png;base64,' in page
    alts = re.findall(r'<img[^>]* alt="([^"]*)"', page)
    assert alts == [html.escape(described[0][1])], "the first frame shows without JavaScript"
    assert 'aria-label="' in page and "<figcaption>" in page
    assert 'type="range"' in page and 'max="1"' in page
    assert "http://" not in page and "https://" not in page, "the static form must be offline"
    assert page.count('class="hl-demo-readout" aria-live="polite"') == 1
    assert _text(_first_readout(page)), "the first frame's numbers show without JavaScript"
    frames = re.findall(r'"([A-Za-z0-9+/=]{200,})"', page)
    assert len(frames) == 2 and frames[0] != frames[1], "the frames must differ"
    assert len(page) < 2.5e6 * 2 / len(settings)
    return page


def _first_readout(page: str) -> str:
    start = page.index('class="hl-demo-readout"')
    return page[page.index(">", start) + 1:page.index("</div>\n</div>", start)]


def test_the_static_form_renders_every_setting():  # the whole form, once, for one demo
    demo = demos.quasi_newton_memory()
    page = demo.static_html()
    n = len(demo.static_settings())
    assert f'max="{n - 1}"' in page and len(re.findall(r'"[A-Za-z0-9+/=]{200,}"', page)) == n
    assert demo.values() == demos.quasi_newton_memory().values()  # controls restored


# --------------------------------------------------------------------------- the package


def test_importing_hessian_lab_does_not_import_the_demos():
    code = "import sys, hessian_lab; print('hessian_lab.demos' in sys.modules, " \
           "'matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "False"]


def test_update_rejects_an_unknown_control():
    with pytest.raises(ValueError, match="unknown control"):
        demos.hessian_explorer().update(alpha=1.0)


def test_the_mime_bundle_has_the_live_widget_and_the_static_form(monkeypatch):
    race = demos.condition_race(kappa=10.0)
    monkeypatch.delenv(demos.LIVE_ENV, raising=False)
    bundle = race._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<img" in bundle["text/html"] and "text/plain" in bundle
    assert base64.b64decode(bundle["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"  # for print
    monkeypatch.setenv(demos.LIVE_ENV, "1")
    live = race._repr_mimebundle_()
    assert "text/html" not in live and "image/png" not in live
    assert "application/vnd.jupyter.widget-view+json" in live


@pytest.mark.parametrize("name", ["hessian_explorer", "condition_race"])
def test_the_printed_form_shows_key_settings_with_their_numbers_and_caption(name):
    from PIL import Image

    from hessian_lab.demos._print import CAPTION_KEY
    from hessian_lab.demos._registry import DEMOS

    demo = DEMOS[name].factory()
    settings = demo.static_settings()
    before = demo.values()
    sheet = Image.open(io.BytesIO(demo.print_png()))
    assert demo.values() == before  # the controls are restored
    caption = sheet.text[CAPTION_KEY]
    assert caption.startswith(demo.caption())
    panels = re.findall(r"\(([a-d])\) ", caption)
    assert 2 <= len(panels) <= 4 and panels[0] == "a"
    # the first and the last settings are printed, and the panels are the demo's figure
    for setting in (settings[0], settings[-1]):
        ((label, _alt),) = demo.static_descriptions([setting])
        assert label in caption
    width = round(demo.figsize[0] * demo.print_dpi)
    assert sheet.width in (width, 2 * width)
    grey = np.asarray(sheet.convert("L"))
    assert (grey < 128).mean() > 0.01  # ink: lines and text, not a blank sheet


def test_readout_text_is_what_a_reader_sees():
    from hessian_lab.demos._base import readout_table, readout_verdict
    from hessian_lab.demos._print import readout_text

    fragment = readout_verdict("saddle", "#d55e00") + readout_table(
        ["method", "steps"], [["Newton", "7"], ["BFGS &lt;", "36"]], caption="counts")
    assert readout_text(fragment) == ["saddle", "counts", "method  steps", "Newton  7",
                                      "BFGS &lt;  36"]


def test_a_contact_sheet_needs_matching_frames_and_labels():
    from hessian_lab.demos._print import contact_sheet, pick_settings

    frame = np.zeros((10, 20, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="as many labels"):
        contact_sheet([frame, frame], ["a"], [[], []], "c", columns=1, dpi=72)
    with pytest.raises(ValueError, match="at least one"):
        pick_settings([], 3)
    assert pick_settings([{"k": i} for i in range(15)], 4) == [{"k": 0}, {"k": 5}, {"k": 9},
                                                              {"k": 14}]


def test_a_slider_change_updates_the_live_image():
    race = demos.condition_race(kappa=10.0)
    box, view = race.widget.children
    image, readout = view.children
    assert set(box.children) == set(race.controls.values())
    before, numbers = image.value, readout.value
    assert before[:8] == b"\x89PNG\r\n\x1a\n"
    assert "hl-demo-state" in readout._dom_classes and "10" in numbers
    race.controls["kappa"].value = 1000.0  # as a reader's drag: through the observer
    assert race.state["kappa"] == 1000.0
    assert image.value != before
    assert readout.value != numbers and "1000" in _text(readout.value)


# --------------------------------------------------------------------------- 1. explorer


def test_explorer_the_diagonal_misleads_for_1_2_2_1():
    ex = demos.hessian_explorer(preset="[[1, 2], [2, 1]]: the diagonal misleads")
    assert np.allclose(ex.state["eigenvalues"], [-1.0, 3.0])
    assert ex.state["kind"] == "saddle"
    assert ex.state["det"] == -3.0 and ex.state["trace"] == 2.0
    assert ex.state["diagonal_misleads"] and ex.state["diagonal_suggests"] == "minimum"
    text = _text(ex.readout_html())
    assert "misleads" in text and "saddle" in text
    assert "\u03bb\u2081 = -1, \u03bb\u2082 = 3" in text
    assert "det H = \u03bb\u2081\u03bb\u2082 = -3" in text


def test_explorer_sliders_change_the_eigenvalues_and_the_axes():
    ex = demos.hessian_explorer(H=[[2.0, 0.0], [0.0, 1.0]])
    assert ex.state["kind"] == "minimum" and np.allclose(ex.state["eigenvalues"], [1, 2])
    axis_before = line_data(ex._axes[0])
    ex.controls["b"].value = 2.0
    H = np.array([[2.0, 2.0], [2.0, 1.0]])
    assert np.allclose(ex.state["eigenvalues"], np.linalg.eigvalsh(H))
    assert ex.state["kind"] == "saddle"
    assert ex.values()["preset"] == "custom"
    assert not np.allclose(line_data(ex._axes[0])[1], axis_before[1])
    # the principal axis has half-length 1/sqrt|lambda| along the eigenvector
    x, y = line_data(ex._axes[1])
    half = np.hypot(x[1] - x[0], y[1] - y[0]) / 2
    assert half == pytest.approx(1 / np.sqrt(abs(ex.state["eigenvalues"][1])))


def test_explorer_det_zero_is_inconclusive_and_draws():
    ex = demos.hessian_explorer()
    ex.update(a=1.0, b=1.0, d=1.0)
    assert ex.state["det"] == 0.0 and ex.state["kind"] == "inconclusive"
    ex.draw()
    ex.update(a=0.0, b=0.0, d=0.0)  # H = 0: a flat model
    assert ex.state["kind"] == "inconclusive"
    assert "flat" in ex._empty.get_text()
    ex.update(show_gradient=True, g1=1.0, g2=0.0)  # not in the range of H = 0
    assert ex.state["stationary_point"] is None
    ex.draw()


def test_explorer_gradient_moves_the_stationary_point():
    ex = demos.hessian_explorer(preset="x^2 + xy + y^2: a bowl")
    assert ex.controls["g1"].disabled
    ex.update(show_gradient=True, g1=1.0, g2=-0.5)
    assert not ex.controls["g1"].disabled
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert np.allclose(ex.state["stationary_point"], np.linalg.solve(H, [-1.0, 0.5]))
    assert np.allclose(line_data(ex._centre)[0], ex.state["stationary_point"][0])


def test_explorer_presets_set_the_sliders():
    ex = demos.hessian_explorer()
    for name, (a, b, d) in demos.PRESETS.items():
        ex.controls["preset"].value = name
        assert (ex.controls["a"].value, ex.controls["b"].value, ex.controls["d"].value) == (a, b, d)
    assert ex.state["kind"] == "maximum"


def test_explorer_static_form():
    check_static(demos.hessian_explorer(), min_frames=10)


# --------------------------------------------------------------------------- 3. race


def test_race_measured_gd_rate_is_max_abs_one_minus_alpha_lambda():
    race = demos.condition_race(kappa=10.0, step=1.5)
    s = race.state
    assert s["alpha"] == pytest.approx(0.15)
    assert s["rate_predicted"] == pytest.approx(max(abs(1 - 0.15), abs(1 - 1.5)))
    assert s["rate_measured"] == pytest.approx(s["rate_predicted"], rel=1e-6)
    race.update(kappa=1000.0, step=1.0)
    s = race.state
    assert s["rate_predicted"] == pytest.approx(1 - 1 / 1000)
    assert s["rate_measured"] == pytest.approx(s["rate_predicted"], rel=1e-6)
    assert s["rate_best"] == pytest.approx(999 / 1001)
    assert s["rate_momentum_predicted"] == pytest.approx((np.sqrt(1000) - 1) / (np.sqrt(1000) + 1))


def test_race_newton_takes_one_step_and_momentum_beats_gd():
    race = demos.condition_race(kappa=100.0)
    s = race.state
    assert s["newton_iterations"] == 1 and s["newton_error"] < 1e-12
    assert s["momentum_final_error"] < 1e-6 * s["gd_final_error"]
    gd_line = line_data(race._gd_err)[1]
    race.update(kappa=1000.0)
    assert not np.allclose(line_data(race._gd_err)[1], gd_line)


def test_race_a_step_beyond_two_over_lambda_max_diverges_without_raising():
    race = demos.condition_race(kappa=100.0, step=1.0)
    assert not race.state["diverged"] and race._diverged.get_text() == ""
    race.update(step=2.1)
    assert race.state["alpha"] > 2 / race.state["lambda_max"]
    assert race.state["diverged"] and race._diverged.get_text() == "diverged"
    assert "diverges" in _text(race.readout_html())
    assert race.state["rate_measured"] == pytest.approx(1.1, rel=1e-6)
    race.update(kappa=1e4, step=2.2)  # overflows to inf within the budget
    assert race.state["diverged"]
    race.draw()
    for line in (race._gd_path, race._gd_err):
        assert np.all(np.isfinite(line_data(line)[1]))


def test_race_kappa_one_converges_at_once():
    race = demos.condition_race(kappa=1.0, step=1.0)
    assert race.state["rate_measured"] == 0.0 and race.state["gd_final_error"] == 0.0
    race.draw()


def test_race_static_form():
    check_static(demos.condition_race(), min_frames=8)


# --------------------------------------------------------------------------- 4. Newton stepper


def test_stepper_converges_in_one_step_on_a_quadratic_model_and_digits_double():
    st = demos.newton_stepper("x^4 + y^4 - 4xy", "standard start", "pure")
    assert st.state["iteration"] == 0 and st.state["kind_at_x"] == "minimum"
    path_before = line_data(st._path)
    st.update(iteration=1)
    s = st.state
    assert np.allclose(s["x"], s["path"][1]) and not np.allclose(line_data(st._path)[0],
                                                                 path_before[0])
    # the model's minimiser is exactly where pure Newton goes next
    assert np.allclose(s["model_minimizer"], s["next_x"])
    d = s["digits"]
    assert s["converged_to"] == "minimum" and d[-1] == 16.0
    assert d[4] > 1.7 * d[3] > 0  # quadratic convergence: the digits roughly double


def test_stepper_pure_newton_from_an_indefinite_start_finds_the_saddle():
    st = demos.newton_stepper("x^4 + y^4 - 4xy", "start where H is indefinite", "pure")
    assert st.state["kind_at_x"] == "saddle" and st.state["indefinite"]
    assert st.state["converged_to"] == "saddle"
    st.update(method="globalised", iteration=0)
    assert st.state["converged_to"] == "minimum" and st.state["shift"] > 0
    st.update(iteration=30)  # beyond the end: the last iterate, no error
    assert st.state["iteration"] == st.state["n_iterations"]
    st.draw()


def test_stepper_switching_problem_redraws_the_contours():
    st = demos.newton_stepper()
    before = st._f_contours
    st.update(problem="Himmelblau")
    assert st._f_contours is not before and st.state["problem"] == "Himmelblau"
    st.draw()


def test_stepper_static_form():
    check_static(demos.newton_stepper(), min_frames=12)


# --------------------------------------------------------------------------- 6. saddle, sharpness


def test_saddle_noise_escapes_where_gd_stalls():
    demo = demos.saddle_and_sharpness(noise=0.0)
    assert not demo.state["gd_escaped"] and not demo.state["noisy_escaped"]
    assert np.linalg.norm(demo.state["gd_final"]) < 0.05  # still next to the saddle
    noisy_before = line_data(demo._noisy)
    demo.update(noise=0.2)
    assert demo.state["noisy_escaped"] and demo.state["escape_iteration"] < 150
    assert not np.allclose(line_data(demo._noisy)[1], noisy_before[1])


def test_sharpness_lambda_max_by_power_iteration_matches_eigvalsh():
    demo = demos.saddle_and_sharpness(sharpness=100.0)
    s = demo.state
    for name in ("sharp", "flat"):
        assert s[f"lambda_max_{name}"] == pytest.approx(s[f"lambda_max_{name}_exact"], rel=1e-8)
    assert s["lambda_max_sharp"] > 20 * s["lambda_max_flat"]
    demo.update(sharpness=10.0)
    assert demo.state["lambda_max_sharp"] < s["lambda_max_sharp"] / 5


def test_sam_step_uses_the_gradient_at_the_perturbed_point():
    demo = demos.saddle_and_sharpness(rho=0.2)
    s = demo.state
    wells = s["_wells"]
    e = s["sam_perturbation"]
    assert np.linalg.norm(e) == pytest.approx(0.2)
    assert np.allclose(s["sam_step"] / s["gd_step"][0],
                       wells.grad(s["sam_point"] + e) / wells.grad(s["sam_point"])[0])
    sam_line = line_data(demo._sam_step)
    demo.update(rho=0.05)
    assert not np.allclose(line_data(demo._sam_step)[1], sam_line[1])


def test_saddle_static_form():
    check_static(demos.saddle_and_sharpness(), min_frames=8)


# --------------------------------------------------------------------------- 2. surface


def test_surface_model_error_falls_like_r_cubed_and_follows_the_point():
    sm = demos.surface_model("x^4 + y^4 - 4xy", point=(0.5, 0.5))
    assert sm.state["kind"] == "saddle"  # H = [[3, -4], [-4, 3]]
    assert sm.state["error_slope"] == pytest.approx(3.0, abs=0.05)
    segments = [seg.copy() for seg in sm._model._segments3d]
    sm.update(x=1.0, y=1.0)
    assert sm.state["kind"] == "minimum"
    assert not np.allclose(np.nan_to_num(sm._model._segments3d[0]), np.nan_to_num(segments[0]))
    sm.draw()


def test_surface_model_is_exact_on_a_quadratic_and_switches_problems():
    sm = demos.surface_model()
    sm.update(problem="x^2 + xy + y^2")
    assert sm.state["max_error"] < 1e-12 and np.isnan(sm.state["error_slope"])
    sm.update(problem="Himmelblau")
    assert (sm.controls["x"].min, sm.controls["x"].max) == (-5.0, 5.0)
    assert sm.state["kind"] == "maximum"  # Himmelblau's default point (0, 0)
    sm.update(problem="monkey saddle", x=0.0, y=0.0)
    assert sm.state["kind"] == "inconclusive"  # H = 0
    sm.draw()


def test_surface_static_form():
    check_static(demos.surface_model(), min_frames=8)


# --------------------------------------------------------------------------- 5. quasi-Newton


def test_lbfgs_memory_is_2mn_and_bfgs_n_squared():
    qn = demos.quasi_newton_memory(m=5, n=100)
    s = qn.state
    assert s["lbfgs_memory"] == 2 * 5 * 100 and s["bfgs_memory"] == 100 * 100
    assert s["bfgs_success"] and s["lbfgs_success"]
    err_before = line_data(qn._lbfgs_err)
    qn.controls["m"].value = 1
    assert qn.state["lbfgs_memory"] == 2 * 1 * 100
    assert qn.state["lbfgs_iterations"] == s["sweep_iterations"][0]
    assert not np.array_equal(line_data(qn._lbfgs_err)[1], err_before[1])
    assert qn._bars[1].get_height() == 200


def test_quasi_newton_static_form():
    check_static(demos.quasi_newton_memory(), min_frames=8)


# --------------------------------------------------------------------------- blitting


def _rgb(demo):
    return np.asarray(demo.figure.canvas.buffer_rgba())[..., :3].astype(int).copy()


def _mismatch(demo):
    """Share of pixels where the blitted frame and a full redraw differ visibly.

    Blitting draws the changing artists last, so anti-aliased edges where they cross
    the static ones (grid lines, ticks) differ, on up to about 1.5% of a small figure's
    pixels; a stale background differs by far more."""
    demo.draw()
    blitted = _rgb(demo)
    demo.figure.canvas.draw()
    return float((np.abs(blitted - _rgb(demo)).max(axis=-1) > 40).mean())


@pytest.mark.parametrize("name", ["surface_model", "newton_stepper", "quasi_newton_memory"])
def test_a_blitted_frame_matches_a_full_redraw_after_the_problem_changes(name):
    demo = getattr(demos, name)()
    assert _mismatch(demo) < 0.02
    chooser = next(k for k, c in demo.controls.items() if hasattr(c, "options"))
    for option in list(demo.controls[chooser].options)[1:3]:
        value = option[1] if isinstance(option, tuple) else option
        demo.update(**{chooser: value})
        assert _mismatch(demo) < 0.02, (name, value)


def test_the_background_is_redrawn_when_an_artist_is_added_or_an_axis_moves():
    demo = demos.hessian_explorer()
    ax = demo.figure.axes[0]
    demo.draw()
    band = ax.axvspan(*ax.get_xlim(), color="red")  # a static artist, no invalidate()
    assert _mismatch(demo) < 0.02
    ax.set_xlim(*(0.5 * np.asarray(ax.get_xlim())))
    assert _mismatch(demo) < 0.02
    band.set_color("blue")  # changed in place: the cached image still shows red ...
    assert _mismatch(demo) > 0.05
    demo.invalidate()  # ... until the demo says so
    assert _mismatch(demo) < 0.02


# --------------------------------------------------------------------------- the registry


def _chapter_calls():
    """demo name -> chapters whose code cells call demos.<name>(...)"""
    calls: dict[str, set] = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] == "code":
                for name in re.findall(r"\bdemos\.(\w+)\(", "".join(cell["source"])):
                    calls.setdefault(name, set()).add(path.stem)
    return calls


def test_every_demo_a_chapter_shows_is_registered_with_that_chapter():
    calls = _chapter_calls()
    assert set(calls) == set(demos.DEMOS), "chapters and registry disagree"
    for name, entry in demos.DEMOS.items():
        assert calls[name] == {entry.chapter}, (name, calls[name], entry.chapter)
        assert getattr(demos, name) is entry.factory
        assert [e.number for e in demos.DEMOS.values()] == sorted(
            e.number for e in demos.DEMOS.values())


@pytest.mark.parametrize("name", list(demos.DEMOS))
def test_each_registered_demo_follows_its_drag(name):
    entry = demos.DEMOS[name]
    demo = entry.factory()
    drag = entry.drag()
    assert len(drag) >= 10
    seen = set()
    for values in drag[:: max(1, len(drag) // 8)]:
        demo.update(**values)
        assert {k: demo.values()[k] for k in values} == pytest.approx(values)
        seen.add(demo.alt_text())
    assert len(seen) > 1, "dragging the control must change what the figure says"


class _Readout(HTMLParser):
    """Collects a readout's text and checks its tags are balanced."""

    VOID = {"br", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.open, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def _text(fragment: str) -> str:
    parser = _Readout()
    parser.feed(fragment)
    parser.close()
    assert not parser.open, f"unclosed tags {parser.open}"
    return " ".join(" ".join(parser.text).split())


@pytest.mark.parametrize("name", list(demos.DEMOS))
def test_each_demos_readout_is_text_that_follows_its_drag(name):
    """The numbers beside the figure: balanced HTML, escaped, changing with the controls."""
    entry = demos.DEMOS[name]
    demo = entry.factory()
    seen = set()
    for values in entry.drag()[:: 5]:
        demo.update(**values)
        fragment = demo.readout_html()
        text = _text(fragment)
        assert text and "nan" not in text.split(), text
        assert "<script" not in fragment
        seen.add(text)
    assert len(seen) > 1, "dragging the control must change the numbers shown"


def test_a_demo_cannot_be_registered_twice():
    from hessian_lab.demos._registry import register

    with pytest.raises(ValueError, match="registered twice"):
        register(99, chapter="x", drag=list)(demos.DEMOS["condition_race"].factory)
    with pytest.raises(ValueError, match="registered twice"):
        register(3, chapter="x", drag=list)(lambda: None)


def test_the_race_measures_its_rates_with_the_core_copy():
    import hessian_lab as hl

    assert demos.measured_rate is hl.measured_rate


# --------------------------------------------------------------------------- numbers only


def _same_state(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) is type(b)  # a problem or result object: built the same way
    return a == b


@pytest.mark.parametrize("name", list(demos.DEMOS))
def test_a_demos_numbers_need_no_figure_and_match_the_drawn_demo(name):
    entry = demos.DEMOS[name]
    demo = entry.factory()
    cls = type(demo)
    for values in entry.drag()[::13]:
        demo.update(**values)
        numbers = cls.numbers(**demo.values())
        assert _same_state(numbers, demo.state), (name, values)
    headless = cls(figure=False)
    assert headless.figure is None
    with pytest.raises(RuntimeError, match="figure=False"):
        headless.draw()
    assert headless.static_descriptions()  # the alt texts need no figure either


def test_the_race_in_numbers_only():
    s = demos.ConditionRace.numbers(kappa=10.0, step=1.5)
    assert s["rate_measured"] == pytest.approx(max(abs(1 - 0.15), abs(1 - 1.5)), rel=1e-6)
    assert demos.ConditionRace.numbers(kappa=100.0, budget=50)["budget"] == 50


# --------------------------------------------------------------------------- 7. trust region


def test_trust_demo_shows_the_librarys_step_decreases_and_ratio():
    import hessian_lab as hl

    demo = demos.trust_region_step(solver="Steihaug-CG", radius=0.5)
    s = demo.state
    prob = hl.seed_quartic()
    x = np.array(demos.TRUST_STARTS["near the saddle (H indefinite)"])
    g, H = prob.grad(x), prob.hess(x)
    step = hl.steihaug_step(g, H.__matmul__, 0.5)
    assert np.array_equal(s["step"], step.p) and s["reason"] == step.reason
    assert s["predicted"] == -step.model
    assert s["actual"] == prob.f(x) - prob.f(x + step.p)
    assert s["rho"] == hl.reduction_ratio(prob.f(x), prob.f(x + step.p), -step.model)
    assert np.array_equal(s["cauchy"], hl.cauchy_point(g, H @ g, 0.5))
    assert np.array_equal(s["exact"], hl.exact_step(g, H, 0.5).p)
    assert s["exact_decrease"] >= s["predicted"] >= s["cauchy_decrease"] * (1 - 1e-12)
    text = _text(demo.readout_html())
    for value in (f"{s['predicted']:.4g}", f"{s['actual']:.4g}", f"{s['rho']:.3f}"):
        assert value in text
    # what is drawn: the circle of radius Delta around x_k, the step from x_k
    cx, cy = line_data(demo._circle)
    assert np.allclose(np.hypot(cx - x[0], cy - x[1]), 0.5)
    sx, sy = line_data(demo._step)
    assert np.allclose([sx[1] - sx[0], sy[1] - sy[0]], step.p)


def test_trust_demo_radius_rule_follows_the_slider():
    demo = demos.trust_region_step(radius=0.05)
    assert demo.state["rho"] > 0.75 and demo.state["reason"] != "interior"
    assert demo.state["verdict"] == "expand" and demo.state["new_radius"] == 0.1
    assert "expand \u0394 to 0.1" in _text(demo.readout_html())
    demo.controls["radius"].value = 2.5  # as a reader's drag
    s = demo.state
    assert s["rho"] < 0.25 and s["verdict"] == "shrink" and not s["accepted"]
    assert s["new_radius"] == pytest.approx(s["step_norm"] / 4)
    assert "reject the step, shrink" in _text(demo.readout_html())
    demo.update(start="near a minimum (H positive definite)", solver="dogleg", radius=2.0)
    s = demo.state
    assert s["reason"] == "interior" and np.allclose(s["step"], s["newton"])
    assert s["verdict"] == "keep" and s["new_radius"] == 2.0
    assert np.allclose(s["exact"], s["newton"])


def test_trust_demo_dogleg_falls_back_to_cauchy_where_H_is_indefinite():
    demo = demos.trust_region_step(solver="dogleg", radius=0.5)
    s = demo.state
    assert s["kind"] == "saddle" and s["dogleg_fallback"]
    assert np.array_equal(s["step"], s["cauchy"]) and s["dogleg_path"] is None
    assert line_data(demo._dogleg)[0].size == 0
    assert "falls back to the Cauchy point" in _text(demo.readout_html())
    demo.update(solver="exact")
    assert demo.state["exact_decrease"] > s["cauchy_decrease"]
    assert demo.state["multiplier"] > -demo.state["eigenvalues"][0]
    with pytest.raises(ValueError, match="unknown solver"):
        demos.trust_region_step(solver="newton")


def test_trust_static_form():
    page = check_static(demos.trust_region_step(), min_frames=10)
    assert "\u03c1 = " in _text(_first_readout(page))
