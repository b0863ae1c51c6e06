"""Placeholder: filled in by the numerical-core work (issue 3)."""

__all__: list[str] = []
