"""Test-session guards shared by every layer.

Pulumi's ``serialize_provider`` (pulumi/dynamic/dynamic.py) sorts dictionaries by wrapping
``pickle._Pickler._batch_setitems`` in a new function on *every* call and never restores it, so each dynamic
resource a process declares adds one more layer of wrapping. One ``pulumi up`` declares a few dozen, which is
harmless; this test session declares thousands in one process, and after about a thousand layers pickling a
provider overflows the recursion limit (``RecursionError`` in ``batch_set_items_sorted_before_py14``). So the
original method is put back after every test. The program itself is untouched: the layers only pile up in a
process that runs the program many times over.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest

#: pickle's own method, before Pulumi wraps it.
ORIGINAL_BATCH_SETITEMS = pickle._Pickler._batch_setitems  # type: ignore[attr-defined]


def restore_pickler() -> None:
    """Undo the layers ``serialize_provider`` left on pickle's pure-Python pickler."""
    pickle._Pickler._batch_setitems = ORIGINAL_BATCH_SETITEMS  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _pickler_without_pulumis_layers() -> Iterator[None]:
    yield
    restore_pickler()
