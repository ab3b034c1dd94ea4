"""The typed Railway resources, for the program: each is its kind's one declaration (``providers/``).

Type tokens are ``pulumi-python:dynamic/railway:<Name>``. Each class body lists its fields once
(:mod:`components.railway.providers.schema`); the constructor editors and type checkers see, the props,
the output placeholders and the secret outputs all derive from it.
"""

from __future__ import annotations

from components.railway.providers.alerts import NotificationRule
from components.railway.providers.database import BackupSchedule, Postgres
from components.railway.providers.deploy import Deployment, DeploymentTrigger, ProjectToken
from components.railway.providers.network import CustomDomain, ServiceDomain
from components.railway.providers.previews import PrEnvironmentSettings
from components.railway.providers.project import Environment, Project
from components.railway.providers.schema import KINDS, RailwayResource
from components.railway.providers.service import Service, ServiceInstance
from components.railway.providers.variables import Variables

__all__ = [
    "KINDS",
    "BackupSchedule",
    "CustomDomain",
    "Deployment",
    "DeploymentTrigger",
    "Environment",
    "NotificationRule",
    "Postgres",
    "PrEnvironmentSettings",
    "Project",
    "ProjectToken",
    "RailwayResource",
    "Service",
    "ServiceDomain",
    "ServiceInstance",
    "Variables",
]
