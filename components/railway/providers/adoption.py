"""What adoption says and hears: the recording run's environment, what a provider found, and its refusals.

Pulumi cannot ``import`` into dynamic providers (pulumi/pulumi#16175), so ``python -m ops adopt`` runs one
targeted ``pulumi up`` with :data:`RECORDING_ENV` set in the engine's environment (the provider processes
inherit it). In that run ``RailwayProvider.create`` calls the provider's own ``adopt`` — find the object
(the id pinned in ``maya-infra:adopt.railway``, else its finder), read what runs — and returns that as the
resource's outputs: no mutation is sent. ``ops adopt`` calls the same method to build its table, and the
provider's own ``diff`` to say whether an object matches, so the table and the next preview agree.

Nothing here is installed or hooked: importing this module changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.railway import errors

#: Set (to "1") in the environment of the one ``pulumi up`` that ``ops adopt`` runs.
RECORDING_ENV = "MAYA_ADOPT_RECORD"
#: ``maya-infra:adopt.railway`` as JSON, handed to the providers the same way (adopt key -> pinned id).
PINNED_ENV = "MAYA_ADOPT_RAILWAY_IDS"
#: The write fingerprint of what was recorded, not written: equal on both sides, so no deploy follows.
RECORDED_REVISION = "adopted"


def recording(env: Mapping[str, str] | None = None) -> bool:
    """True inside the recording run of ``ops adopt``."""
    return (os.environ if env is None else env).get(RECORDING_ENV) == "1"


def pinned_ids(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ids ``ops adopt`` pinned for the recording run, by adopt key."""
    raw = (os.environ if env is None else env).get(PINNED_ENV)
    ids = json.loads(raw) if raw else {}
    return {str(k): str(v) for k, v in ids.items()} if isinstance(ids, dict) else {}


@dataclass(frozen=True)
class Runs:
    """What the running system is recognised by, beyond a kind's natural key: the repository the backend
    service builds from (and its root directory), in which environment. Adoption's finders use it to find
    objects under names nobody wrote into the stack file."""

    source_repo: str | None = None
    root_directory: str | None = None
    environment_name: str | None = None
    environment_id: str | None = None


@dataclass(frozen=True)
class Extra:
    """Something that runs beside an adopted object and is not declared: listed, kept, never touched."""

    kind: str
    label: str
    id: str
    detail: str


@dataclass(frozen=True)
class Adopted:
    """What a provider's ``adopt`` found: the object's id and what runs, as the resource's outputs."""

    id: str
    outputs: dict[str, Any]
    label: str = ""
    extras: list[Extra] = field(default_factory=list)


class NothingToAdopt(errors.RailwayError):
    """The object is not on Railway (any more): ``ops adopt`` records only what it found."""


class AmbiguousAdoption(errors.RailwayError):
    """Two or more running objects fit one declaration: adoption refuses to guess."""

    def __init__(self, kind: str, adopt_key: str | None, candidates: list[tuple[str, str]]) -> None:
        listed = "; ".join(f"{label} ({id_})" for label, id_ in candidates)
        choose = (
            f"choose one with `python -m ops adopt --id {adopt_key}=<id>`"
            if adopt_key
            else "remove the extra one in Railway, or pin its parent with `--id`"
        )
        super().__init__(kind, f"{len(candidates)} running objects fit: {listed}; {choose}")
        self.candidates = candidates
