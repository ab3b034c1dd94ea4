"""GitHub Actions workflow runs and their jobs: what the staging gate reads (workflows/scripts/staging_gate.py).

Each run carries what GitHub's carry and the gate must tell apart: its **event** (``push`` or
``pull_request``: a pull request's run on the same commit is not a deploy), its **branch** (``head_branch``),
its **workflow** (``path``: the frontend's and the backend's pipelines are different files), its head commit,
and its attempts — a re-run adds an attempt, the run then shows the newest one, and ``filter=latest`` lists
only the newest attempt's jobs (``all``: every attempt's). Runs are listed newest first, as GitHub does.

Seeding (tests): :meth:`ActionsMixin.add_workflow_run` (a finished run with its jobs' conclusions, by display
name) and :meth:`ActionsMixin.rerun` (a new attempt with new conclusions).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tests.fakes.github.common import Context, HttpError, WithHeaders
from tests.fakes.github.model import Repository, WorkflowJob, WorkflowRun, next_id, node_id, now

#: the values of ``status`` that are statuses; any other value filters by conclusion, as GitHub's does
RUN_STATUSES = frozenset({"completed", "action_required", "in_progress", "queued", "requested", "waiting", "pending"})
EVENTS = frozenset({"push", "pull_request", "workflow_dispatch", "schedule", "workflow_run", "merge_group"})


class ActionsMixin:
    """Workflow runs (seeded by tests) and their jobs, listed the way GitHub lists them."""

    # seeding ------------------------------------------------------------------------------------------

    def add_workflow_run(
        self,
        repo: str,
        workflow: str,
        *,
        event: str,
        branch: str,
        sha: str,
        jobs: dict[str, str | None],
        status: str = "completed",
    ) -> int:
        """A run of ``workflow`` (``.github/workflows/<file>``) for ``event`` on ``branch`` at commit ``sha``,
        whose jobs (display name -> conclusion, None while running) ended as given; returns the run's id.
        The run's own conclusion is GitHub's: failure when a job failed, else success (None while running)."""
        if event not in EVENTS:
            raise ValueError(f"add_workflow_run: unknown event {event!r}")
        with self._lock:  # type: ignore[attr-defined]
            repository: Repository = self._repo(*repo.split("/", 1))  # type: ignore[attr-defined]
            if sha not in repository.git.commits:
                raise ValueError(f"add_workflow_run: {repo} has no commit {sha}")
            workflow_id = repository.workflow_ids.setdefault(workflow, next_id())
            stamp = now()
            number = 1 + sum(1 for r in repository.runs.values() if r.path == workflow)
            run = WorkflowRun(
                next_id(),
                workflow.rsplit("/", 1)[-1].removesuffix(".yml"),
                workflow,
                workflow_id,
                event,
                branch,
                sha,
                number,
                stamp,
                updated_at=stamp,
            )
            repository.runs[run.id] = run
            self._attempt(run, jobs, status)
            return run.id

    def rerun(self, repo: str, run_id: int, jobs: dict[str, str | None]) -> None:
        """Someone re-ran run ``run_id`` (an old one, maybe): a new attempt, whose jobs ended as given."""
        with self._lock:  # type: ignore[attr-defined]
            run = self._repo(*repo.split("/", 1)).runs[run_id]  # type: ignore[attr-defined]
            run.run_attempt += 1
            self._attempt(run, jobs, "completed")

    @staticmethod
    def _attempt(run: WorkflowRun, jobs: dict[str, str | None], status: str) -> None:
        stamp = now()
        for name, conclusion in jobs.items():
            done = conclusion is not None
            run.jobs.append(
                WorkflowJob(
                    next_id(),
                    name,
                    run.run_attempt,
                    "completed" if done else "in_progress",
                    conclusion,
                    stamp,
                    stamp if done else None,
                )
            )
        conclusions = list(jobs.values())
        running = status != "completed" or any(c is None for c in conclusions)
        run.status = "in_progress" if running else "completed"
        bad = {"failure", "cancelled", "timed_out"}
        run.conclusion = None if running else ("failure" if any(c in bad for c in conclusions) else "success")
        run.updated_at = stamp

    # handlers -----------------------------------------------------------------------------------------

    def _list_runs(self, c: Context) -> tuple[int, Any]:
        """``GET /repos/{o}/{r}/actions/runs`` (and per workflow): newest first, filtered and paged as GitHub."""
        repo: Repository = self._repo(c.params["owner"], c.params["repo"])  # type: ignore[attr-defined]
        runs = sorted(repo.runs.values(), key=lambda r: r.id, reverse=True)
        if "workflow_id" in c.params:
            wanted = c.params["workflow_id"]
            ids = {str(i) for p, i in repo.workflow_ids.items() if wanted in (str(i), p, p.rsplit("/", 1)[-1])}
            if not ids:
                raise HttpError(404, "Not Found")
            runs = [r for r in runs if str(r.workflow_id) in ids]
        q = c.query
        if q.get("branch"):
            runs = [r for r in runs if r.head_branch == q["branch"]]
        if q.get("event"):
            runs = [r for r in runs if r.event == q["event"]]
        if q.get("head_sha"):
            runs = [r for r in runs if r.head_sha == q["head_sha"]]
        if q.get("status"):
            key = q["status"]
            runs = [r for r in runs if (r.status if key in RUN_STATUSES else r.conclusion) == key]
        page, per_page = _paging(q)
        shown = runs[(page - 1) * per_page : page * per_page]
        answer = {"total_count": len(runs), "workflow_runs": [self._run_payload(repo, r) for r in shown]}
        return 200, WithHeaders(_link(self._api_base(), c, page, per_page, len(runs)), answer)

    def _list_run_jobs(self, c: Context) -> tuple[int, Any]:
        """``GET …/actions/runs/{id}/jobs``: ``filter=latest`` (the default) the newest attempt's jobs only."""
        repo: Repository = self._repo(c.params["owner"], c.params["repo"])  # type: ignore[attr-defined]
        run = repo.runs.get(int(c.params["run_id"]))
        if run is None:
            raise HttpError(404, "Not Found")
        jobs = run.jobs if c.query.get("filter") == "all" else [j for j in run.jobs if j.run_attempt == run.run_attempt]
        page, per_page = _paging(c.query)
        shown = jobs[(page - 1) * per_page : page * per_page]
        answer = {"total_count": len(jobs), "jobs": [self._job_payload(repo, run, j) for j in shown]}
        return 200, WithHeaders(_link(self._api_base(), c, page, per_page, len(jobs)), answer)

    # payloads -----------------------------------------------------------------------------------------

    def _api_base(self) -> str:
        return str(self._payloads.api)  # type: ignore[attr-defined]

    def _run_payload(self, repo: Repository, run: WorkflowRun) -> dict[str, Any]:
        """workflow-run, every required property."""
        p = self._payloads  # type: ignore[attr-defined]
        url = f"{p.api}/repos/{repo.full_name}/actions/runs/{run.id}"
        commit = repo.git.commits[run.head_sha]
        repository = p.repository(repo, self._account(repo.owner))  # type: ignore[attr-defined]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WFR_", run.id),
            "check_suite_id": run.id + 1,
            "check_suite_node_id": node_id("CS_", run.id + 1),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "display_title": commit.message.splitlines()[0] if commit.message else run.name,
            "run_number": run.run_number,
            "run_attempt": run.run_attempt,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "url": url,
            "html_url": f"{p.base}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": run.created_at,
            "updated_at": run.updated_at or run.created_at,
            "run_started_at": run.created_at,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{p.api}/repos/{repo.full_name}/check-suites/{run.id + 1}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "previous_attempt_url": f"{url}/attempts/{run.run_attempt - 1}" if run.run_attempt > 1 else None,
            "workflow_url": f"{p.api}/repos/{repo.full_name}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": commit.sha,
                "tree_id": commit.tree_sha,
                "message": commit.message,
                "timestamp": commit.committer.get("date") or run.created_at,
                "author": {"name": commit.author["name"], "email": commit.author["email"]},
                "committer": {"name": commit.committer["name"], "email": commit.committer["email"]},
            },
            "repository": repository,
            "head_repository": repository,
        }

    def _job_payload(self, repo: Repository, run: WorkflowRun, job: WorkflowJob) -> dict[str, Any]:
        """job, every required property (a hosted runner's fields)."""
        p = self._payloads  # type: ignore[attr-defined]
        run_url = f"{p.api}/repos/{repo.full_name}/actions/runs/{run.id}"
        return {
            "id": job.id,
            "run_id": run.id,
            "run_url": run_url,
            "run_attempt": job.run_attempt,
            "node_id": node_id("CR_", job.id),
            "head_sha": run.head_sha,
            "head_branch": run.head_branch,
            "workflow_name": run.name,
            "url": f"{p.api}/repos/{repo.full_name}/actions/jobs/{job.id}",
            "html_url": f"{p.base}/{repo.full_name}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": job.started_at,
            "started_at": job.started_at,
            "completed_at": job.completed_at,
            "name": job.name,
            "steps": [],
            "check_run_url": f"{p.api}/repos/{repo.full_name}/check-runs/{job.id}",
            "labels": ["ubuntu-24.04"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 1,
            "runner_group_name": "GitHub Actions",
        }


def _paging(query: dict[str, str]) -> tuple[int, int]:
    per_page = min(int(query.get("per_page") or 30), 100)
    return max(int(query.get("page") or 1), 1), per_page if per_page > 0 else 30


def _link(api: str, c: Context, page: int, per_page: int, total: int) -> dict[str, str]:
    """GitHub's Link header with ``next`` while more pages follow (the gate pages with it)."""
    if page * per_page >= total:
        return {}
    path = c.op.template.format(**c.params)
    query = urlencode({**c.query, "page": page + 1})
    return {"Link": f'<{api}{path}?{query}>; rel="next"'}
