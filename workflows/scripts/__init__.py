"""Stdlib-only scripts that generated workflows inline into run: steps (and ops can import)."""
