"""Converting a student's result to numbers and comparing it with the reference; when it differs,
the usual wrong variants are tried against it to name the likely mistake."""

from __future__ import annotations

import math

import numpy as np

from .session import (
    _absolute,
    _array,
    _asarray,
    _describe_type,
    _errstate,
    _Fail,
    _float,
    _isfinite,
    _isinstance,
    _len,
    _less_equal,
    _sha256,
    _subtract,
    grading_seed,
)


def _to_array(value, name: str, what: str = "the result", ndim: int | None = None):
    """The student's result as a float ndarray, or a _Fail that says what was returned."""
    if value is None:
        raise _Fail(f"{name} returned None: is the `return` statement missing?")
    if _isinstance(value, (str, bytes, dict, set)):
        raise _Fail(f"{name} returned {_describe_type(value)}; {what} should be numbers.")
    if callable(value) and not _isinstance(value, np.ndarray):
        raise _Fail(f"{name} returned a function; {what} should be numbers.")
    try:
        with _errstate(all="ignore"):
            arr = _array(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Fail(f"{name} returned {_describe_type(value)} that is not an array of numbers "
                    f"({type(exc).__name__}: {exc}).") from None
    if ndim is not None and arr.ndim != ndim:
        raise _Fail(f"{name} returned an array of shape {arr.shape}; {what} should be "
                    f"{_ndim_words(ndim)}.")
    return arr


def _ndim_words(ndim: int) -> str:
    return {0: "a single number", 1: "a 1-D array", 2: "a 2-D array (a matrix)"}.get(
        ndim, f"{ndim}-D")


def _to_float(value, name: str, what: str = "the result") -> float:
    arr = _to_array(value, name, what)
    if arr.size != 1:
        raise _Fail(f"{name} returned an array of shape {arr.shape}; {what} should be a single "
                    "number.")
    return _float(arr.reshape(()))


def _to_label(value, name: str, allowed: tuple[str, ...]) -> str:
    if not _isinstance(value, str):
        raise _Fail(f"{name} returned {_describe_type(value)} {_short(value)}; return one of "
                    f"the strings {_quote_all(allowed)}.")
    text = str.__str__(value)  # a plain str, whatever subclass the student returned
    if text not in allowed:
        hint = ""
        if text.strip().lower() in allowed:
            hint = " (exactly as written: lower case, no spaces around)"
        raise _Fail(f"{name} returned {text!r}; return one of {_quote_all(allowed)}{hint}.")
    return text


def _to_int(value, name: str, what: str) -> int:
    number = _to_float(value, name, what)
    if not math.isfinite(number) or number != int(number):
        raise _Fail(f"{name}: {what} should be a whole number, got {number!r}.")
    return int(number)


def _short(value) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    return text if _len(text) <= 60 else text[:57] + "..."


def _quote_all(labels) -> str:
    return ", ".join(repr(label) for label in labels)




def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """Elementwise |got - expected| <= atol + rtol |expected|, all finite (no numpy.allclose)."""
    if got.shape != expected.shape:
        return False
    if not _isfinite(got).all():
        return False
    diff = _absolute(_subtract(got, expected))
    bound = atol + rtol * _absolute(expected)
    return bool(_less_equal(diff, bound).all())


def _scale(arr: np.ndarray) -> float:
    return _float(_absolute(arr).max()) if arr.size else 0.0


def _fmt(value) -> str:
    """A compact, readable rendering of a number, vector or matrix for messages."""
    if _isinstance(value, (int, float, np.floating, np.integer)):
        return f"{_float(value):.6g}"
    arr = _asarray(value, dtype=float)
    if arr.ndim == 0:
        return f"{_float(arr):.6g}"
    text = np.array2string(arr, precision=5, suppress_small=True, max_line_width=88,
                           threshold=24, edgeitems=3, separator=", ")
    return text.replace("\n", "\n      ")


def _inputs(**named) -> str:
    lines = []
    for key, value in named.items():
        shown = value if _isinstance(value, str) else _fmt(value)
        lines.append(f"  {key} = {shown}")
    return "\n".join(lines)


def _mismatch(name, got, expected, inputs, cause: str = "", what: str = "result") -> _Fail:
    text = f"{name} gives the wrong {what}"
    if inputs:
        text += " for\n" + inputs
    text += f"\n  expected: {_fmt(expected)}\n  got:      {_fmt(got)}"
    if got.shape == expected.shape and got.size > 1 and _isfinite(got).all():
        diff = _absolute(_subtract(got, expected))
        where = np.unravel_index(int(diff.argmax()), diff.shape)
        text += f"\n  largest difference {_float(diff.max()):.3g} at index {tuple(map(int, where))}"
    if cause:
        text += "\nLikely mistake: " + cause
    return _Fail(text)


def _compare(name, got, expected, *, inputs="", variants=(), rtol=1e-6, atol=1e-9,
             what="result", fallback=""):
    """Pass if ``got`` matches ``expected``; otherwise name the first matching wrong variant.

    ``variants`` is a sequence of ``(compute, message)``: ``compute()`` returns what a common
    mistake would have produced on the same input.
    """
    expected = _asarray(expected, dtype=float)
    got = _asarray(got, dtype=float)  # already converted by _call: a number or an array
    atol_eff = atol * max(1.0, _scale(expected))
    if got.shape != expected.shape:
        for compute, message in variants:
            value = _variant(compute)
            if value is not None and value.shape == got.shape and _close(got, value, rtol,
                                                                          atol_eff):
                raise _mismatch(name, got, expected, inputs, message, what)
        raise _Fail(f"{name} returned shape {got.shape}; expected shape {expected.shape}"
                    + (" for\n" + inputs if inputs else "."))
    if callable(fallback):
        fallback_text = fallback
    else:
        def fallback_text(text=fallback):
            return text
    if not _isfinite(got).all():
        raise _mismatch(name, got, expected, inputs,
                        fallback_text() or "the result contains NaN or inf: a division by "
                        "zero, or an iteration that diverged?", what)
    if _close(got, expected, rtol, atol_eff):
        return
    for compute, message in variants:
        value = _variant(compute)
        if value is not None and value.shape == got.shape and _close(got, value, max(rtol, 1e-6),
                                                                      atol_eff):
            raise _mismatch(name, got, expected, inputs, message, what)
    raise _mismatch(name, got, expected, inputs, fallback_text(), what)


def _variant(compute):
    try:
        with _errstate(all="ignore"):
            value = compute()
    except Exception:  # noqa: BLE001 - a variant that cannot be computed does not match
        return None
    return _asarray(value, dtype=float)


def _rng(test_id: str) -> np.random.Generator:
    """The generator of a hidden test: from the grading seed and the test id."""
    salt = int.from_bytes(_sha256(test_id.encode()).digest()[:4], "little")
    return np.random.default_rng([grading_seed() % 2**63, salt])
