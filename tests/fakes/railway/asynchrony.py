"""Railway's asynchronous side, on the fake's own clock: workflows (that can fail), environment forks that
apply later, domains that start ``CREATING``, and soft deletes (``deletedAt``).

Everything here moves on :meth:`AsyncMixin.now` — the real monotonic clock plus whatever a test added with
:meth:`AsyncMixin.advance` — never on sleeps inside the fake. A test that waits through its client's sleep
function can hand the same seconds to ``advance`` (tests/components/railway/conftest.py ``SleepRecorder``),
so an hour of Railway time costs nothing.

* **Workflows** (template deploys, backups, restores, forks) complete after ``_polls_needed`` polls or at
  ``_due`` on the clock, whichever comes first. A template deploy armed with :meth:`fail_next_template` ends
  ``Error`` with a message — optionally after making the service without its volume (``partial``), what a
  half-done template leaves behind.
* **Environment forks** (``environmentCreate`` with ``sourceEnvironmentId``): the environment exists and is
  listed at once, but its service instances, variables, triggers and volumes appear only when Railway has
  applied the staged fork — after ``fork_polls`` reads of ``environment(id)`` or ``fork_delay_seconds``.
* **Domains** start ``syncStatus: CREATING`` and become ``ACTIVE`` after ``domain_polls`` reads (``domains``,
  ``customDomain``) or ``domain_delay_seconds``.
* **Soft deletes**: a deleted project, environment, service or domain leaves every list at once, but stays
  readable by id (``project(id)``, ``environment(id)``, ``service(id)``, ``customDomain(id)``) with
  ``deletedAt`` set for ``soft_delete_seconds`` (Railway's scheduled deletion keeps a project 48 h);
  mutations on it answer "not found". ``projects(includeDeleted: true)`` lists deleted projects too.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.fakes.railway.base import _now, _uid

#: The tables whose deleted rows stay readable by id for a while (each has ``deletedAt`` in Railway's schema).
SOFT_DELETED = ("projects", "environments", "services", "service_domains", "custom_domains")


class AsyncMixin:
    """The fake's clock, its workflows, forks, domain activation and soft deletes."""

    state: Any
    _lock: Any
    _clock_offset: float
    fork_polls: int
    fork_delay_seconds: float
    domain_polls: int
    domain_delay_seconds: float
    soft_delete_seconds: float
    _fail_templates: list[tuple[str, bool]]

    # ---------------------------------------------------------------------------------------- clock
    def now(self) -> float:
        """The fake's clock (monotonic seconds): real time plus every :meth:`advance`."""
        return time.monotonic() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of Railway time pass at once: rate-limit windows move, due work completes."""
        if seconds < 0:
            raise ValueError("time does not run backwards")
        with self._lock:
            self._clock_offset += seconds
            self._advance_workflows()

    # ------------------------------------------------------------------------------------ workflows
    def _new_workflow(self, kind: str, **extra: Any) -> str:
        wid = _uid()
        self.state.workflows[wid] = {
            "id": wid,
            "kind": kind,
            "polls": 0,
            "status": "Running",
            "error": None,
            "_polls_needed": 2,
            "_due": None,
            **extra,
        }
        return wid

    def _complete_workflow(self, wf: dict[str, Any]) -> None:
        failure = wf.get("_fail")
        if failure is not None:
            error, partial = failure
            on_partial = wf.get("_on_partial")
            if partial and on_partial is not None:
                on_partial()
            wf["status"], wf["error"] = "Error", error
            return
        wf["status"] = "Complete"
        on_done = wf.get("_on_complete")
        if on_done is not None:
            on_done()

    def _poll_workflow(self, wf: dict[str, Any]) -> None:
        wf["polls"] += 1
        if wf["status"] == "Running" and wf["polls"] >= wf["_polls_needed"]:
            self._complete_workflow(wf)

    def _advance_workflows(self) -> None:
        """What is due on the clock happens whether or not anyone looks (like Railway's own work)."""
        now = self.now()
        for wf in list(self.state.workflows.values()):
            if wf["status"] == "Running" and wf.get("_due") is not None and now >= wf["_due"]:
                self._complete_workflow(wf)
        for table in ("service_domains", "custom_domains"):
            for d in getattr(self.state, table).values():
                if d["syncStatus"] == "CREATING" and now >= d["_activeAt"]:
                    d["syncStatus"] = "ACTIVE"
        for kind in SOFT_DELETED:
            gone = self.state.deleted.get(kind, {})
            for oid in [o for o, row in gone.items() if now >= row["_purgeAt"]]:
                del gone[oid]

    def finish_workflows(self) -> None:
        """Let enough time pass for everything asynchronous: workflows complete (or fail, as armed), forks
        apply, domains become ACTIVE."""
        with self._lock:
            for wf in list(self.state.workflows.values()):
                if wf["status"] == "Running":
                    self._complete_workflow(wf)
            for table in ("service_domains", "custom_domains"):
                for d in getattr(self.state, table).values():
                    d["syncStatus"] = "ACTIVE"

    def fail_next_template(self, error: str = "Failed to deploy template", *, partial: bool = False) -> None:
        """The next template deploy's workflow ends ``Error`` with ``error``; ``partial``: having made the
        service (with its variables) but not its volume."""
        with self._lock:
            self._fail_templates.append((error, partial))

    # ---------------------------------------------------------------------------------------- forks
    def _fork_later(self, environment_id: str, apply: Any) -> None:
        """The fork's contents appear when Railway has applied it (``environment(id)`` reads count as polls)."""
        wid = self._new_workflow(
            "environmentFork",
            environmentId=environment_id,
            _on_complete=apply,
            _polls_needed=self.fork_polls,
            _due=self.now() + self.fork_delay_seconds,
        )
        if self.fork_polls <= 0:
            self._complete_workflow(self.state.workflows[wid])

    def _poll_fork(self, environment_id: str) -> None:
        for wf in list(self.state.workflows.values()):
            if wf["kind"] == "environmentFork" and wf["environmentId"] == environment_id and wf["status"] == "Running":
                self._poll_workflow(wf)

    # -------------------------------------------------------------------------------------- domains
    def _domain_created(self, d: dict[str, Any]) -> None:
        d["syncStatus"] = "ACTIVE" if self.domain_polls <= 0 else "CREATING"
        d["_reads"] = 0
        d["_activeAt"] = self.now() + self.domain_delay_seconds

    def _domain_read(self, d: dict[str, Any]) -> None:
        if d["syncStatus"] != "CREATING":
            return
        d["_reads"] += 1
        if d["_reads"] >= self.domain_polls or self.now() >= d["_activeAt"]:
            d["syncStatus"] = "ACTIVE"

    # --------------------------------------------------------------------------------- soft deletes
    def _tombstone(self, kind: str, row: dict[str, Any] | None) -> None:
        """Keep a deleted row readable by id, with ``deletedAt``, for ``soft_delete_seconds``."""
        if row is None or kind not in SOFT_DELETED:
            return
        kept = copy.deepcopy(row)
        kept["deletedAt"] = _now()
        kept["updatedAt"] = kept["deletedAt"]
        if "syncStatus" in kept:
            kept["syncStatus"] = "DELETED"
        kept["_purgeAt"] = self.now() + self.soft_delete_seconds
        self.state.deleted.setdefault(kind, {})[row["id"]] = kept

    def _deleted(self, kind: str, oid: Any) -> dict[str, Any] | None:
        """A soft-deleted row still readable by id (None when there is none, or it was purged)."""
        return self.state.deleted.get(kind, {}).get(oid) if isinstance(oid, str) else None
