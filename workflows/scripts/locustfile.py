"""The staging load test (Locust): simulated users GET the plan's backend paths and frontend pages.

maya-infra inlines this file into the performance job (workflows/performance.py), which runs it as
``locust -f locustfile.py --headless ...`` with the plan in the environment; budgets are judged afterwards by
perf_report.py from Locust's CSV statistics. Only the standard library and Locust itself.

Environment: ``PERFORMANCE_PLAN`` (JSON: ``backend`` and ``frontend`` lists of ``{path, weight}``,
``minWaitSeconds``, ``maxWaitSeconds``), ``BACKEND_URL`` and ``FRONTEND_URL`` (origins, no trailing slash;
needed only when the plan has paths of that kind). Every request is a GET (a load test never writes into
staging's data) and is named ``<kind> <path>`` (``backend /api/health``), the name the report and the
budgets use. A request fails on a connection error, a timeout or a status of 400 or more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from locust import HttpUser, TaskSet, between

#: Seconds one request may take before it counts as failed (a hung request must not stall a user).
REQUEST_TIMEOUT_SECONDS = 30
USER_AGENT = "maya-infra-performance/1 (Locust; the staging performance stage)"
KINDS = ("backend", "frontend")


def request_name(kind: str, path: str) -> str:
    """The name of a path's requests in Locust's statistics (and in the plan's budgets)."""
    return f"{kind} {path}"


def _origins(plan: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    origins = {}
    for kind in KINDS:
        if plan.get(kind):
            variable = f"{kind.upper()}_URL"
            origin = env.get(variable, "").rstrip("/")
            if not origin.startswith(("https://", "http://")):
                raise SystemExit(f"{variable} must be the {kind}'s origin (https://…) to load {plan[kind][0]['path']}")
            origins[kind] = origin
    return origins


def _task(url: str, name: str) -> Callable[[HttpUser], None]:
    def task(user: HttpUser) -> None:
        user.client.get(url, name=name, timeout=REQUEST_TIMEOUT_SECONDS, headers={"User-Agent": USER_AGENT})

    task.__name__ = name
    return task


def _tasks(plan: dict[str, Any], origins: dict[str, str]) -> list[TaskSet | Callable[..., Any]]:
    """Each path's task ``weight`` times: a user picks one of them at random (what Locust does with weights)."""
    tasks: list[TaskSet | Callable[..., Any]] = []
    for kind, origin in origins.items():
        for entry in plan[kind]:
            tasks += [_task(origin + entry["path"], request_name(kind, entry["path"]))] * int(entry.get("weight", 1))
    if not tasks:
        raise SystemExit("PERFORMANCE_PLAN has no path to load")
    return tasks


_PLAN: dict[str, Any] = json.loads(os.environ.get("PERFORMANCE_PLAN") or "{}")
_ORIGINS = _origins(_PLAN, dict(os.environ))


class StagingUser(HttpUser):
    """One simulated user: a weighted random GET of the plan's paths, then a think time."""

    host = next(iter(_ORIGINS.values()), None)
    wait_time = between(float(_PLAN.get("minWaitSeconds", 0.5)), float(_PLAN.get("maxWaitSeconds", 2.0)))
    tasks = _tasks(_PLAN, _ORIGINS)
