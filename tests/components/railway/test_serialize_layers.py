"""The guard in tests/conftest.py: Pulumi's provider serialization wraps pickle once more on every call, and
the guard takes the wrapping off again (else a long test session ends in RecursionError)."""

from __future__ import annotations

import pickle

from pulumi.dynamic.dynamic import serialize_provider

from components.railway.provider import ProjectProvider
from tests.conftest import ORIGINAL_BATCH_SETITEMS, restore_pickler


def _layers() -> int:
    """How many wrappers stand between pickle._Pickler._batch_setitems and pickle's own method."""
    method, layers = pickle._Pickler._batch_setitems, 0  # type: ignore[attr-defined]
    while method is not ORIGINAL_BATCH_SETITEMS and layers < 10_000:
        closure = method.__closure__ or ()
        method = next(c.cell_contents for c in closure if callable(c.cell_contents))
        layers += 1
    return layers


def test_each_serialization_adds_a_layer_and_the_guard_removes_them() -> None:
    restore_pickler()
    first = serialize_provider(ProjectProvider())
    for _ in range(4):
        assert serialize_provider(ProjectProvider()) == first  # still deterministic
    assert _layers() == 5
    restore_pickler()
    assert _layers() == 0
    assert serialize_provider(ProjectProvider()) == first
