"""The vendored Railway schema is the one the project was given, unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "schema.graphql"
SHA256 = "e9fdf5de3b6111ac5c1f899c87f05064cf8e56ed2952fa49018d3b9162275125"


def test_the_vendored_schema_is_the_published_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SHA256


def test_the_vendored_schema_equals_the_shared_copy_when_there_is_one() -> None:
    shared = HERE.parents[2] / "shared" / "railway" / "schema.graphql"
    if not shared.is_file():
        pytest.skip("no ../shared/ beside this clone: the hash check above is what holds")
    assert shared.read_bytes() == SCHEMA.read_bytes()
