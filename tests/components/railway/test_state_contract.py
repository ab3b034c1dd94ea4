"""The state contract of the dynamic providers: ``components.railway.provider.<Class>``.

Every resource's state holds its provider pickled by reference. The blobs in ``fixtures/`` were written by
the code before the providers were split by area; they must keep loading, and what the current code
writes must be byte-identical to them, so that no existing state even sees a difference in ``__provider``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.railway import provider as p

FIXTURE = Path(__file__).parent / "fixtures" / "provider-blobs-718442b.json"
#: the blobs of 718442b, plus one fixture per later addition (each new class's first blob, provider-blobs-*.json)
BLOBS: dict[str, str] = {
    name: blob
    for path in sorted(FIXTURE.parent.glob("provider-blobs-*.json"))
    for name, blob in json.loads(path.read_text())["blobs"].items()
}


def test_the_fixture_covers_every_provider_class() -> None:
    classes = {n for n in p.__all__ if n.endswith("Provider") and n != "RailwayProvider"}
    assert classes == set(BLOBS)


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_a_state_written_before_the_split_still_loads(name: str) -> None:
    restored = dill.loads(base64.b64decode(BLOBS[name]))  # noqa: S301 - our own fixture
    assert type(restored) is getattr(p, name)
    assert restored._client is None  # nothing but the reference was pickled


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_the_current_code_writes_the_same_bytes(name: str) -> None:
    assert serialize_provider(getattr(p, name)()) == BLOBS[name]
    assert getattr(p, name).__module__ == p.STATE_MODULE == "components.railway.provider"
