"""The ground floor: the validated model of one stack's configuration, shared by everything above it.

``config.model`` is the typed model, ``config.secrets`` the secrets a stack may hold, ``config.load`` reads
a stack (inside the program or from its stack file) and reports every problem at once, and
``config.envvars`` is the one table of which value goes where. The program (``program.py``), the Pulumi
components, the workflow generator, the ``ops`` commands and the policy pack all import from here;
nothing here imports from them.
"""

from config.load import (
    ConfigError,
    Problem,
    load_from_pulumi,
    load_from_stack_file,
    parse,
    read_stack_file,
    with_peers,
)
from config.model import (
    ALL_PLATFORMS,
    BACKUP_KINDS,
    CHECKLY_ACCOUNT_KEYS,
    DEFAULT_BACKUP_KINDS,
    DEFAULT_PREVIEWS,
    MONITORING_CHECKLY,
    MONITORING_NONE,
    MONITORING_SCHEDULE,
    NAMESPACE,
    PREVIEW_E2E_CHECK,
    PROJECT_DIR,
    STACKS,
    AdoptSettings,
    BackendSettings,
    BackupSettings,
    FrontendSettings,
    GitHubSettings,
    MonitoringSettings,
    Platform,
    PreviewSettings,
    RailwaySettings,
    StackConfig,
)
from config.secrets import KNOWN_KEYS, SECRET_KEYS, SECRETS, STRUCTURED_KEYS, SecretSpec

__all__ = [
    "ALL_PLATFORMS",
    "BACKUP_KINDS",
    "CHECKLY_ACCOUNT_KEYS",
    "DEFAULT_BACKUP_KINDS",
    "DEFAULT_PREVIEWS",
    "KNOWN_KEYS",
    "MONITORING_CHECKLY",
    "MONITORING_NONE",
    "MONITORING_SCHEDULE",
    "NAMESPACE",
    "PREVIEW_E2E_CHECK",
    "PROJECT_DIR",
    "SECRETS",
    "SECRET_KEYS",
    "STACKS",
    "STRUCTURED_KEYS",
    "AdoptSettings",
    "BackendSettings",
    "BackupSettings",
    "ConfigError",
    "FrontendSettings",
    "GitHubSettings",
    "MonitoringSettings",
    "Platform",
    "PreviewSettings",
    "Problem",
    "RailwaySettings",
    "SecretSpec",
    "StackConfig",
    "load_from_pulumi",
    "load_from_stack_file",
    "parse",
    "read_stack_file",
    "with_peers",
]
