"""The built site in a real browser, offline: every page, its maths, figures, links and search.

Every request that would leave localhost is blocked and counted; a page passes only with no
console errors, no failed requests and no external requests, and with no serious or critical
WCAG 2.2 A/AA violation found by axe-core, in the light theme and in the dark one (the audit
runs in the same visits; tests/test_accessibility.py checks the audit and the keyboard).
Screenshots of every page are saved under test-artifacts/screenshots/ (light) and
test-artifacts/screenshots-dark/.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from browser import NetworkGuard, assert_wcag_aa, static_server
from conftest import ROOT
from test_repository import toc_files

# The built site in Chromium: not in `make test-fast`.
pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
PAGES = toc_files()

# Text of the article with code, outputs and maths containers removed: raw TeX left in it means
# MathJax did not typeset something.
VISIBLE_PROSE_JS = """() => {
  const root = document.querySelector('article') || document.body;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, .highlight, .cell_output, mjx-container, script, style')
       .forEach(e => e.remove());
  return clone.innerText;
}"""


@pytest.fixture(scope="module")
def base_url(site):
    with static_server(site) as url:
        yield url


class PageVisit:
    """Opens one page with the network guard and collects what went wrong."""

    def __init__(self, browser, url: str, color_scheme: str = "light"):
        self.guard = NetworkGuard()
        self.context = browser.new_context(viewport={"width": 1300, "height": 900},
                                           color_scheme=color_scheme)
        self.context.route("**/*", self.guard)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.goto(url, wait_until="load")
        self.wait_for_maths()

    def wait_for_maths(self):
        has_mathjax = self.page.evaluate("() => !!document.querySelector('script[src*=mathjax]')")
        if has_mathjax:
            self.page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000
            )
            self.page.evaluate("() => MathJax.startup.promise.then(() => true)")

    def close(self):
        self.context.close()


@pytest.mark.parametrize("stem", PAGES)
def test_page_loads_offline_and_reads_in_light_and_dark(browser, base_url, axe, stem):
    """Offline, maths typeset, figures with alt text, WCAG AA in the light theme; then, in the
    same visit, the dark theme: WCAG AA again and every figure legible."""
    visit = PageVisit(browser, f"{base_url}/{stem}.html")
    page = visit.page
    try:
        external = [u for u in visit.guard.external]
        failed = [f for f in visit.failed if not any(u in f for u in external)]
        assert not external, f"{stem}: requests leaving localhost: {external}"
        assert not failed, f"{stem}: failed requests: {failed}"
        assert not visit.console_errors, f"{stem}: console errors: {visit.console_errors}"

        n_math = page.evaluate("() => document.querySelectorAll('.math').length")
        n_typeset = page.evaluate("() => document.querySelectorAll('mjx-container').length")
        assert n_typeset >= n_math, f"{stem}: {n_math} maths elements, {n_typeset} typeset"
        prose = page.evaluate(VISIBLE_PROSE_JS)
        raw = re.findall(r"\\\(|\\\[|\$\$|\$[^$\s][^$]*\$", prose)
        assert not raw, f"{stem}: untypeset TeX left in the page: {raw[:5]}"

        images = page.evaluate(
            "() => Array.from(document.querySelectorAll('article img')).map(i => "
            "({src: i.currentSrc, ok: i.complete && i.naturalWidth > 0, alt: i.alt}))"
        )
        broken = [i["src"] for i in images if not i["ok"]]
        assert not broken, f"{stem}: images that did not load: {broken}"
        no_alt = [i["src"] for i in images if not i["alt"]]
        assert not no_alt, f"{stem}: images without alt text: {no_alt}"

        shots = ARTIFACTS / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / (stem.replace("/", "__") + ".png")), full_page=True)
        assert_wcag_aa(page, axe, f"{stem} (light)")
        _check_dark_mode(page, axe, stem)
    finally:
        visit.close()


def test_a_chapter_reads_from_files_too(browser, site):
    """Opened straight from disk (file://), maths is typeset from the site's own MathJax."""
    visit = PageVisit(browser, (site / "book/01_one_variable.html").as_uri())
    try:
        assert not visit.guard.external
        assert visit.page.evaluate("() => document.querySelectorAll('mjx-container').length") > 10
    finally:
        visit.close()


def test_search_finds_sylvester(browser, base_url):
    visit = PageVisit(browser, f"{base_url}/search.html?q=Sylvester")
    try:
        visit.page.wait_for_selector("#search-results ul.search li", timeout=20000)
        hits = visit.page.evaluate(
            "() => Array.from(document.querySelectorAll('#search-results ul.search li a'))"
            ".map(a => a.textContent)"
        )
        assert hits, "searching for Sylvester found nothing"
        assert not visit.guard.external and not visit.console_errors
    finally:
        visit.close()


def _contrast(rgb_a, rgb_b) -> float:
    def lum(rgb):
        c = [v / 255 for v in rgb]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    la, lb = sorted((lum(rgb_a), lum(rgb_b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _check_dark_mode(page, axe, stem: str) -> None:
    """In the dark theme a figure keeps an opaque background that contrasts with its lines,
    and the page has no serious WCAG violation."""
    from PIL import Image

    page.evaluate("() => { document.documentElement.dataset.theme = 'dark';"
                  " document.documentElement.dataset.mode = 'dark';"
                  " localStorage.setItem('theme', 'dark');"
                  " localStorage.setItem('mode', 'dark'); }")
    page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert page_bg != "rgb(255, 255, 255)", "the dark theme did not switch on"
    # the theme's colour transitions run to their end before contrast is measured
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    assert_wcag_aa(page, axe, f"{stem} (dark)")
    shots = ARTIFACTS / "screenshots-dark"
    shots.mkdir(parents=True, exist_ok=True)
    # the viewport only: the light screenshot above shows the whole page, and a second
    # full-page capture costs seconds per page
    page.screenshot(path=str(shots / (stem.replace("/", "__") + ".png")))
    figures = page.query_selector_all("article img")
    for k, fig in enumerate(figures):
        fig.scroll_into_view_if_needed()
        img = Image.open(io.BytesIO(fig.screenshot())).convert("RGB")
        pixels = np.asarray(img, dtype=int).reshape(-1, 3)
        pixels = pixels[np.argsort(pixels.sum(axis=1), kind="stable")]
        background = tuple(pixels[len(pixels) // 2])  # the median pixel: the background
        ink = tuple(pixels[len(pixels) // 200])  # among the darkest: lines and text
        ratio = _contrast(background, ink)
        assert ratio >= 4.5, (
            f"{stem} figure {k}: contrast {ratio:.1f} between background {background} and "
            f"lines {ink} on the dark theme"
        )


def _pages_with_animations(site) -> list[str]:
    return [stem for stem in PAGES
            if 'class="hl-demo"' in (site / f"{stem}.html").read_text(encoding="utf-8")]


def test_javascript_animations_play_and_scrub(browser, base_url, site):
    """Every demo's static form on the site has frames, scrubs with its slider and plays."""
    stems = _pages_with_animations(site)
    assert stems, "no page of the site carries the static form of a demo"
    for stem in stems:
        visit = PageVisit(browser, f"{base_url}/{stem}.html")
        page = visit.page
        try:
            animations = page.locator("figure.hl-demo")
            count = animations.count()
            assert count > 0, stem
            for k in range(count):
                anim = animations.nth(k)
                anim.scroll_into_view_if_needed()
                img, slider = anim.locator("img").first, anim.locator("input[type=range]")
                assert img.get_attribute("alt"), f"{stem}: animation {k} has no alt text"
                assert anim.locator("figcaption").inner_text().strip()
                frames = int(slider.get_attribute("max")) + 1
                assert frames >= 5, f"{stem}: animation {k} has only {frames} frames"
                first, first_alt = img.get_attribute("src"), img.get_attribute("alt")
                assert first and first.startswith("data:image"), f"{stem}: no first frame"
                assert img.evaluate("(i) => i.complete && i.naturalWidth > 0")
                # the numbers are text beside the figure, in a polite live region
                readout = anim.locator(".hl-demo-readout")
                assert readout.count() == 1, f"{stem}: animation {k} has no readout"
                assert readout.get_attribute("aria-live") == "polite"
                numbers = readout.inner_text().strip()
                assert numbers, f"{stem}: animation {k}'s readout is empty"
                # Scrub: drag the slider to the last frame.
                slider.evaluate("(s) => { s.value = s.max; s.dispatchEvent(new Event('input')); }")
                last = img.get_attribute("src")
                assert last != first, f"{stem}: scrubbing animation {k} did not change the frame"
                assert img.get_attribute("alt") != first_alt, f"{stem}: alt text not updated"
                assert readout.inner_text().strip() != numbers, f"{stem}: readout not updated"
                # Play from the first frame: the frames move on by themselves.
                slider.evaluate("(s) => { s.value = 0; s.dispatchEvent(new Event('input')); }")
                button = anim.locator("button").first
                button.click()
                page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                                       arg=[img.element_handle(), first], timeout=10_000)
                assert button.inner_text() in ("Pause", "Play")
                if button.inner_text() == "Pause":
                    button.click()
            assert not visit.console_errors, f"{stem}: {visit.console_errors}"
            assert not visit.guard.external
        finally:
            visit.close()
