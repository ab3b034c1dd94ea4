"""The state-compatible face of the Railway providers: every provider class at its historical path.

Dynamic providers are pickled into each resource's state by reference, as
``components.railway.provider.<Class>``. The classes live in :mod:`components.railway.providers` (split by
area: project, network, deploy, database, behind one base class); this module re-exports each of them under
that path so that every state ever written keeps loading. Never remove a name from here: an old state that
references it would stop loading (``tests/components/railway/test_state_contract.py`` holds this).
"""

from components.railway.providers import adopt as _adopt  # noqa: F401 - installs the adoption run's create hook
from components.railway.providers.alerts import NotificationRuleProvider
from components.railway.providers.base import (
    IN_FLIGHT,
    STATE_MODULE,
    TERMINAL_FAILURES,
    RailwayProvider,
    is_unknown,
    revision_of,
)
from components.railway.providers.database import BACKUP_KINDS, BackupScheduleProvider, PostgresProvider
from components.railway.providers.deploy import DeploymentProvider, DeploymentTriggerProvider, ProjectTokenProvider
from components.railway.providers.network import CustomDomainProvider, ServiceDomainProvider
from components.railway.providers.previews import PrEnvironmentSettingsProvider
from components.railway.providers.project import (
    EnvironmentProvider,
    ProjectProvider,
    ServiceInstanceProvider,
    ServiceProvider,
    VariablesProvider,
)

__all__ = [
    "BACKUP_KINDS",
    "IN_FLIGHT",
    "STATE_MODULE",
    "TERMINAL_FAILURES",
    "BackupScheduleProvider",
    "CustomDomainProvider",
    "DeploymentProvider",
    "DeploymentTriggerProvider",
    "EnvironmentProvider",
    "NotificationRuleProvider",
    "PostgresProvider",
    "PrEnvironmentSettingsProvider",
    "ProjectProvider",
    "ProjectTokenProvider",
    "RailwayProvider",
    "ServiceDomainProvider",
    "ServiceInstanceProvider",
    "ServiceProvider",
    "VariablesProvider",
    "is_unknown",
    "revision_of",
]
