"""Shared fixtures and paths for the test suite."""

from __future__ import annotations

import json
import os
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


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
