"""Accessibility of the built site (WCAG 2.2 AA): the audit itself, the skip link, the keyboard.

Every page is audited with axe-core (the npm package, pinned in ``browser.AXE_VERSION``) in
the visits of tests/test_browser.py, once in the light theme and once in the dark one: the
rules tagged for WCAG 2.0, 2.1 and 2.2 at levels A and AA, failing on any violation of
impact "serious" or "critical" with the rule, its help and the first elements that break it
printed. This module checks that the audit catches what it should, and what axe cannot
judge: that the skip link and a demo's static form work from the keyboard.
"""

from __future__ import annotations

import pytest
from browser import WCAG_FAILING, axe_violations, static_server
from test_browser import PageVisit, _pages_with_animations

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(site):
    with static_server(site) as url:
        yield url


def test_the_audit_catches_a_violation(browser, base_url, axe):
    """The check itself: a page with an unlabelled image and grey-on-white text fails it."""
    visit = PageVisit(browser, f"{base_url}/book/preface.html")
    try:
        page = visit.page
        page.evaluate("""() => {
          const main = document.querySelector('main') || document.body;
          const img = document.createElement('img');
          img.src = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ'
                    + 'AAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
          main.prepend(img);
          const p = document.createElement('p');
          p.textContent = 'too faint to read';
          p.style.color = '#d0d0d0'; p.style.background = '#ffffff';
          main.prepend(p);
        }""")
        found = {v["id"] for v in axe_violations(page, axe) if v["impact"] in WCAG_FAILING}
        assert {"image-alt", "color-contrast"} <= found, found
    finally:
        visit.close()


def _focus_ring(locator) -> bool:
    """Whether the focused element shows a visible focus indicator (outline or box shadow)."""
    return locator.evaluate("""(el) => {
      const s = getComputedStyle(el);
      const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
      return outline || (s.boxShadow && s.boxShadow !== 'none');
    }""")


def test_a_skip_link_is_the_first_stop_and_leads_to_the_content(browser, base_url):
    visit = PageVisit(browser, f"{base_url}/book/01_one_variable.html")
    try:
        page = visit.page
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        text = focused.inner_text().strip().lower()
        assert "skip" in text and "content" in text, f"first Tab stop is {text!r}"
        assert focused.is_visible(), "the skip link must show when it has focus"
        assert _focus_ring(focused)
        target = focused.get_attribute("href")
        assert target and target.startswith("#")
        page.keyboard.press("Enter")
        inside = page.evaluate("""(id) => {
          const t = document.getElementById(id);
          return !!t && !!t.querySelector('h1');
        }""", target[1:])
        assert inside, f"the skip link's target {target} does not hold the page's heading"
    finally:
        visit.close()


def test_a_demos_static_form_works_from_the_keyboard(browser, base_url, site):
    """Tab reaches the Play button and the scrubber with a visible focus ring; the arrow keys
    step the frames, the alt text and the readout."""
    stem = _pages_with_animations(site)[0]
    visit = PageVisit(browser, f"{base_url}/{stem}.html")
    try:
        page = visit.page
        demo = page.locator("figure.hl-demo").first
        button, slider = demo.locator("button").first, demo.locator("input[type=range]")
        img, readout = demo.locator("img").first, demo.locator(".hl-demo-readout")
        button.focus()
        page.keyboard.press("Tab")
        assert slider.evaluate("(s) => s === document.activeElement"), \
            "Tab from Play must reach the scrubber"
        assert _focus_ring(slider), "the scrubber shows no focus indicator"
        before = (img.get_attribute("src"), img.get_attribute("alt"), readout.inner_text())
        page.keyboard.press("ArrowRight")
        after = (img.get_attribute("src"), img.get_attribute("alt"), readout.inner_text())
        assert slider.input_value() == "1"
        assert all(a != b for a, b in zip(before, after, strict=True)), \
            "ArrowRight must step the frame, its alt text and its numbers"
        assert slider.get_attribute("aria-valuetext") == demo.locator("output").inner_text()
        page.keyboard.press("Shift+Tab")
        assert button.evaluate("(b) => b === document.activeElement")
        assert _focus_ring(button), "the Play button shows no focus indicator"
    finally:
        visit.close()
