"""pytest set-up shared by the package's doctests (tests/ has its own conftest)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _uncapped_doctests(request, monkeypatch):
    """The grading module's examples call setup(), which caps the address space of the process
    it runs in (a grading kernel). In the test process that cap would be inherited by everything
    started later (Chromium, Jupyter), so the examples run with the cap switched off."""
    if type(request.node).__name__ == "DoctestItem":
        monkeypatch.setenv("CURVATURE_LAB_MEMORY_GB", "0")
