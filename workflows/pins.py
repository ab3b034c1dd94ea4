"""The one table of everything a generated workflow pins: actions by commit SHA, tools by version.

Actions are referenced only through :func:`uses`, which returns ``owner/repo@<sha>``; the renderer appends
``# <version>`` after every ``uses:`` line from this table, so a reviewer sees the version and the SHA
together, and a test checks that no workflow uses an action that is missing here. To move a pin, resolve
the new tag to its commit upstream, change one row, regenerate (``scripts/regenerate-workflows.sh``) and
review the diff. Source of the SHAs: shared/reference/action-pins.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from config import PROJECT_DIR

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Pin:
    """An action at one commit; ``version`` is the release tag that commit carries."""

    action: str
    sha: str
    version: str

    def __post_init__(self) -> None:
        if not _SHA_RE.match(self.sha):
            raise ValueError(f"{self.action}: {self.sha!r} is not a full 40-hex commit SHA")

    @property
    def ref(self) -> str:
        return f"{self.action}@{self.sha}"


ACTIONS: dict[str, Pin] = {
    pin.action: pin
    for pin in (
        Pin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        Pin("actions/setup-node", "820762786026740c76f36085b0efc47a31fe5020", "v7.0.0"),
        Pin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
        Pin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
        # the saved plan, from the job the approvers read to the approved update (workflows/infra.py)
        Pin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
        Pin("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),  # Playwright's browsers
        Pin("actions/dependency-review-action", "2031cfc080254a8a887f58cffee85186f0e49e48", "v4.9.0"),
        Pin("pulumi/actions", "8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    )
}


def uses(action: str) -> str:
    """``owner/repo@<sha>`` for an action of the table; KeyError names the table to extend."""
    try:
        return ACTIONS[action].ref
    except KeyError:
        raise KeyError(f"{action} is not pinned: add it to workflows/pins.py ACTIONS") from None


def version_of(ref: str) -> str:
    """The version comment of a ``owner/repo@<sha>`` reference produced by :func:`uses`."""
    action, _, sha = ref.partition("@")
    pin = ACTIONS.get(action)
    if pin is None or pin.sha != sha:
        raise KeyError(f"{ref} is not a pin of workflows/pins.py ACTIONS")
    return pin.version


# Tools installed by version inside the generated jobs (npm and PyPI packages, runtimes, images).
# Kept here with the action pins so that one file says exactly what a pipeline run executes.
NODE_VERSION_FALLBACK = "20.x"  # used only when a stack does not set frontend.nodeVersion
PYTHON_BACKEND = "3.12"  # the backend's runtime on Railway (Railpack's default) and in CI
PYTHON_INFRA = "3.11"  # this repository's interpreter (venv, requirements.txt)
# Service container of the database tests and the migration check, pinned by digest (zizmor: unpinned-images).
# The digest is the one several public projects pin for this tag; it was not resolved from the registry
# here (no Docker Hub access): re-check it with `docker buildx imagetools inspect postgres:16.10`.
POSTGRES_IMAGE = "postgres:16.10@sha256:21f6013073bc6b92830a2129570e2f5ec42a6c734b5a985a41e83aa58f54c3c1"

# Installed only from the lockfiles of workflows/tools/ (workflows/tools.py): scripts/lock-ci-tools.sh makes them
# from these versions, and a test refuses a lockfile that disagrees. Vercel: 58.10.0, the newest whose lockfile
# `npm ci` takes here (61 and newer do not install; a lock made with 58.11 to 60 may be refused); it has
# `deploy --skip-domain` and `promote`.
NPM_TOOLS: dict[str, str] = {
    "snyk": "1.1307.4",
    "vercel": "58.10.0",
}

PYPI_TOOLS: dict[str, str] = {
    "bandit": "1.9.4",
    "coverage": "7.17.3",
    "mypy": "2.4.1",
    "pip-audit": "2.10.1",
    "pytest": "9.2.0",
    "pytest-cov": "7.1.0",
    "ruff": "0.17.5",
    "safety": "3.8.1",
}


#: Tools of one job each, in lockfiles of their own (workflows/tools.py), so a job installs only what it runs: the
#: staging performance stage's load test and Lighthouse CI (workflows/performance.py; @lhci/cli 0.14.0: a lockfile
#: made with 0.15.1 is refused by `npm ci`) and the deploy jobs' Sentry release marker (workflows/tracking.py).
PERFORMANCE_PYPI_TOOLS: dict[str, str] = {"locust": "2.47.0"}
RELEASE_PYPI_TOOLS: dict[str, str] = {"sentry-cli": "3.8.2"}
LIGHTHOUSE_NPM_TOOLS: dict[str, str] = {"@lhci/cli": "0.14.0"}


def npm(name: str) -> str:
    """``name@version``, as the lockfile holds it."""
    return f"{name}@{NPM_TOOLS[name]}"


def pypi(*names: str) -> str:
    """``name==version …``, in the order given, as the lockfiles hold them."""
    return " ".join(f"{name}=={PYPI_TOOLS[name]}" for name in names)


def pulumi_version(requirements: str | None = None) -> str:
    """The CLI version CI runs: the one of the ``pulumi`` SDK pinned in requirements.txt."""
    text = requirements if requirements is not None else (PROJECT_DIR / "requirements.txt").read_text()
    match = re.search(r"^pulumi==([0-9][0-9.]*)\s*$", text, re.MULTILINE)
    if not match:
        raise ValueError("requirements.txt does not pin pulumi==X.Y.Z; CI cannot choose a Pulumi CLI version")
    return match.group(1)
