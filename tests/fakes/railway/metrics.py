"""Railway's HTTP request metrics of a service instance: ``httpMetricsGroupedByStatus`` and ``httpMetrics``.

Tests seed what the service answered (:meth:`MetricsMixin.seed_http_requests`: how many requests with which
status, when); the queries count them per status code in ``stepSeconds`` buckets between ``startDate`` and
``endDate``, like Railway's dashboard does. A project token may read only its own environment's metrics
(a workspace token any); the backend 5xx-rate alert (workflows/scripts/error_rate.py, the Checkly check of
components/error_rate.py) reads them with the stack's metrics token.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import NOT_AUTHORIZED, _Ctx, _query

#: Railway's default resolution when ``stepSeconds`` is not given.
DEFAULT_STEP_SECONDS = 60


def _epoch(value: Any, name: str) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise GraphQLError(f"{name} is not an ISO 8601 date-time") from None


class MetricsMixin:
    """HTTP request counts per (service, environment), seeded by tests and read by the metrics queries."""

    state: Any
    _lock: Any
    _get_env: Any
    _get_service: Any

    @property
    def _http_log(self) -> list[tuple[str, str, int, float, int]]:
        """(service id, environment id, status code, epoch seconds, count) of every seeded batch."""
        return self.__dict__.setdefault("_http_requests_seeded", [])  # type: ignore[no-any-return]

    def seed_http_requests(
        self, service_id: str, environment_id: str, status_code: int, count: int, *, at: float | None = None
    ) -> None:
        """``count`` requests the service answered with ``status_code`` at ``at`` (epoch seconds; default now)."""
        if not 100 <= status_code <= 599 or count < 0:
            raise ValueError("status_code must be 100-599 and count at least 0")
        with self._lock:
            self._get_service(service_id)
            self._get_env(environment_id)
            self._http_log.append((service_id, environment_id, status_code, time.time() if at is None else at, count))

    def _counted(self, info: Any, a: dict[str, Any]) -> dict[int, dict[int, float]]:
        """status code -> bucket start (epoch seconds) -> requests, after the caller's right to read them."""
        ctx: _Ctx = info.context
        service, environment = a["serviceId"], a["environmentId"]
        env = self._get_env(environment)
        self._get_service(service, env["projectId"])
        if ctx.auth == "project" and (ctx.token is None or ctx.token["environmentId"] != environment):
            raise GraphQLError(NOT_AUTHORIZED)
        start, end = _epoch(a["startDate"], "startDate"), _epoch(a["endDate"], "endDate")
        if end < start:
            raise GraphQLError("endDate must be after startDate")
        step = a.get("stepSeconds") or DEFAULT_STEP_SECONDS
        if step <= 0:
            raise GraphQLError("stepSeconds must be positive")
        out: dict[int, dict[int, float]] = {}
        for sid, eid, status, at, count in self._http_log:
            if (sid, eid) != (service, environment) or not start <= at <= end:
                continue
            if a.get("statusCode") is not None and status != a["statusCode"]:
                continue
            bucket = int(at // step * step)
            per_status = out.setdefault(status, {})
            per_status[bucket] = per_status.get(bucket, 0.0) + count
        return out

    @staticmethod
    def _samples(buckets: dict[int, float]) -> list[dict[str, Any]]:
        return [{"ts": ts, "value": value} for ts, value in sorted(buckets.items())]

    @_query("httpMetricsGroupedByStatus")
    def _q_http_metrics_by_status(self, info: Any, **a: Any) -> list[dict[str, Any]]:
        counted = self._counted(info, {**a, "statusCode": None})
        return [{"statusCode": status, "samples": self._samples(counted[status])} for status in sorted(counted)]

    @_query("httpMetrics")
    def _q_http_metrics(self, info: Any, **a: Any) -> dict[str, Any]:
        merged: dict[int, float] = {}
        for buckets in self._counted(info, a).values():
            for ts, value in buckets.items():
                merged[ts] = merged.get(ts, 0.0) + value
        return {"samples": self._samples(merged)}
