"""The state-compatible face of the Railway providers: every provider class at its historical path.

Dynamic providers are pickled into each resource's state by reference, as
``components.railway.provider.<Kind>Provider``. The classes live in :mod:`components.railway.providers`
beside their kind's declaration (:mod:`components.railway.providers.schema`); this module imports every
area and exposes each registered kind's provider here, under the name its declaration derives, so that
every state ever written keeps loading. Never remove a kind: an old state that references its provider
would stop loading (``tests/components/railway/test_state_contract.py`` holds this).
"""

from __future__ import annotations

from components.railway.providers import (  # noqa: F401 - each area registers its kinds
    alerts,
    database,
    deploy,
    network,
    previews,
    project,
    service,
    variables,
)
from components.railway.providers.base import (
    IN_FLIGHT,
    TERMINAL_FAILURES,
    RailwayProvider,
    is_unknown,
    revision_of,
)
from components.railway.providers.database import BACKUP_KINDS
from components.railway.providers.schema import KINDS, STATE_MODULE

#: Every provider class by the name states reference (``<Kind>Provider``), derived from the registry.
PROVIDERS: dict[str, type[RailwayProvider]] = {
    kind.provider_class.__name__: kind.provider_class for kind in KINDS.values()
}
globals().update(PROVIDERS)


__all__ = [
    "BACKUP_KINDS",
    "IN_FLIGHT",
    "KINDS",
    "PROVIDERS",
    "STATE_MODULE",
    "TERMINAL_FAILURES",
    "RailwayProvider",
    "is_unknown",
    "revision_of",
    *sorted(PROVIDERS),
]
