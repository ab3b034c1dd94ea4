"""Committed workflows: least privilege, and every action pinned to a commit from workflows/pins.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from policy.rules.model import GH_FILE, UNKNOWN, Resource, _text
from workflows.pins import ACTIONS

_SHA = re.compile(r"^[0-9a-f]{40}$")


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def workflow_document(r: Resource) -> tuple[str, dict[str, Any] | None, str | None]:
    """(path, parsed workflow or None, parse error) of a RepositoryFile that is a workflow, else ("", None, None)."""
    path = _text(r.get("file")) or ""
    if r.type != GH_FILE or not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        return "", None, None
    content = r.get("content")
    if not isinstance(content, str) or content is UNKNOWN:
        return path, None, None
    try:
        document = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        return path, None, f"is not valid YAML ({str(exc).splitlines()[0]})"
    if not isinstance(document, dict):
        return path, None, "is not a workflow (not a mapping)"
    return path, document, None


def _uses(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, ref) of every ``uses:`` of a workflow: job-level (reusable workflows) and step-level."""
    jobs = document.get("jobs")
    for job_id, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
        if not isinstance(job, Mapping):
            continue
        if isinstance(job.get("uses"), str):
            yield f"job {job_id}", job["uses"]
        for index, step in enumerate(job.get("steps") or []):
            if isinstance(step, Mapping) and isinstance(step.get("uses"), str):
                yield f"job {job_id} step {step.get('name') or index + 1}", step["uses"]


def _write_all(document: Mapping[str, Any]) -> Iterator[str]:
    if document.get("permissions") == "write-all":
        yield "the workflow"
    jobs = document.get("jobs")
    for job_id, job in (jobs or {}).items() if isinstance(jobs, Mapping) else ():
        if isinstance(job, Mapping) and job.get("permissions") == "write-all":
            yield f"job {job_id}"


def is_pinned(ref: str) -> bool:
    """Local actions, ``owner/repo[/path]@<40-hex SHA>`` and ``docker://image@sha256:<digest>`` are pinned."""
    if ref.startswith("./"):
        return True
    if ref.startswith("docker://"):
        return bool(_DIGEST.search(ref))
    _action, sep, version = ref.partition("@")
    return bool(sep) and bool(_SHA.match(version))


def workflows_least_privilege_pinned(r: Resource) -> Iterator[str]:
    """No committed workflow grants write-all, and every action it uses is pinned to a commit SHA."""
    path, document, error = workflow_document(r)
    if error:
        yield f"workflow {path} {error}"
    if document is None:
        return
    for where in _write_all(document):
        yield f"workflow {path}: {where} grants `permissions: write-all`; grant each scope it needs instead"
    for where, ref in _uses(document):
        if not is_pinned(ref):
            yield f"workflow {path}: {where} uses {ref!r}, not pinned to a 40-hex commit SHA (workflows/pins.py)"


def workflow_pins_from_table(r: Resource) -> Iterator[str]:
    """Pinned actions come from workflows/pins.py, the one table reviewers check."""
    path, document, _error = workflow_document(r)
    if document is None:
        return
    if "permissions" not in document:
        yield (
            f"workflow {path} declares no top-level permissions: its token gets the repository default, which "
            "may be write-all (declare `permissions: {}` and grant per job)"
        )
    for where, ref in _uses(document):
        action, _, sha = ref.partition("@")
        if ref.startswith(("./", "docker://")) or not is_pinned(ref):
            continue
        root = "/".join(action.split("/")[:2])
        pin = ACTIONS.get(root)
        if pin is None or pin.sha != sha:
            yield f"workflow {path}: {where} uses {ref} which is not a pin of workflows/pins.py ACTIONS"
