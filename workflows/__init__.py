"""GitHub Actions workflows generated from the stack configuration: the app pipelines and this repo's own.

Public entry points:

* :func:`render_app_workflows` — what a stack commits to its app repositories (frontend, backend, monitor);
* :func:`render_infra_workflows` — this repository's .github/workflows (preview, up, drift check).

Output is deterministic text, kept as golden files under tests/workflows/golden and validated there
with actionlint, check-jsonschema and zizmor. docs/workflows.md explains how to render and review.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from config import StackConfig
from workflows import backend, frontend, infra, monitor, previews
from workflows.pipeline import BACKEND_CHECK, FRONTEND_CHECK, all_configs, all_routes, check_required

__all__ = ["render_app_workflows", "render_infra_workflows"]

#: Settings that enter the app workflows from the rendering stack alone; if stacks disagree on one, the
#: files differ per stack and say so in their header.
_STACK_SPECIFIC: dict[str, Callable[[StackConfig], object]] = {
    "frontend.nodeVersion": lambda c: c.frontend.node_version,
    "backend.healthcheckPath": lambda c: c.backend.healthcheck_path,
    "github.frontendPath": lambda c: c.github.frontend_path,
    "github.backendPath": lambda c: c.github.backend_path,
    "github.frontendRepository/backendRepository": lambda c: c.github.repositories,
}


def _differences(cfg: StackConfig, configs: Sequence[StackConfig]) -> list[str]:
    notes = []
    for key, pick in _STACK_SPECIFIC.items():
        values = {c.stack: pick(c) for c in configs}
        if len(set(map(repr, values.values()))) > 1:
            shown = ", ".join(f"{stack}: {value}" for stack, value in values.items())
            notes.append(
                f"Stack-specific: {key} differs between stacks ({shown}); this file is rendered for "
                f"{cfg.stack}, so merging between the stacks' branches changes it."
            )
    return notes


def render_app_workflows(cfg: StackConfig) -> dict[str, dict[str, str]]:
    """Repository name -> {repo-relative path -> YAML} of the app workflows that stack ``cfg`` commits.

    A monorepo gets all files, each pipeline watching its own folder; split repositories get the frontend
    workflow (at the repository root) and the backend workflow plus the monitor, respectively.
    """
    configs = all_configs(cfg)
    routes = all_routes(configs)
    notes = _differences(cfg, configs)
    gh = cfg.github
    if gh.monorepo:
        front_dir, back_dir = gh.frontend_path, gh.backend_path
        front_watch: list[str] = [f"{front_dir}/", frontend.PATH]
        back_watch: list[str] = [f"{back_dir}/", backend.PATH]
    else:
        front_dir = back_dir = "."
        front_watch = back_watch = []
    check_required(cfg, {FRONTEND_CHECK, BACKEND_CHECK})
    files: dict[str, dict[str, str]] = {repo: {} for repo in gh.repositories}
    files[gh.frontend_repository][frontend.PATH] = frontend.render(cfg, routes, front_dir, front_watch, notes)
    files[gh.backend_repository][backend.PATH] = backend.render(cfg, routes, back_dir, back_watch, notes)
    files[gh.backend_repository][monitor.PATH] = monitor.render(configs, routes)
    source = previews.source_config(configs)  # docs/previews.md: only when a stack (staging) has previews on
    if source is not None:
        files[source.github.backend_repository][previews.PATH] = previews.render(source, routes)
    return {repo: dict(sorted(paths.items())) for repo, paths in sorted(files.items())}


def render_infra_workflows() -> dict[str, str]:
    """Path -> YAML of this repository's own workflows (.github/workflows of maya-infra)."""
    return infra.render()
