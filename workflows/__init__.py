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
from workflows import backend, frontend, infra, monitor, previews, tools
from workflows.pipeline import BACKEND_CHECK, FRONTEND_CHECK, all_configs, all_routes, check_required
from workflows.render import bundled_script, script_modules
from workflows.render import header as generated_header

#: The migration runner committed next to the backend's apply_migration.py (Railway's pre-deploy command).
MIGRATION_RUNNER = "apply_migrations.py"

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
    workflow (at the repository root) and the backend workflow plus the monitor, respectively. Every app
    repository also gets the CI tools' lockfiles (``.github/ci-tools/``, workflows/tools.py). The monitor
    workflow checks only the environments Checkly does not monitor, and is left out when Checkly monitors
    them all (two monitors would alert twice for one outage).
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
    scheduled = [c for c in configs if not c.uses_checkly]  # Checkly watches the others: no double alerts
    if scheduled:
        files[gh.backend_repository][monitor.PATH] = monitor.render(scheduled, routes)
    for repo in gh.repositories:  # the CI tools' lockfiles (workflows/tools.py): nothing is installed unlocked
        files[repo].update(tools.repository_files())
    runner_path = MIGRATION_RUNNER if back_dir == "." else f"{back_dir}/{MIGRATION_RUNNER}"
    files[gh.backend_repository][runner_path] = _migration_runner(routes)
    source = previews.source_config(configs)  # docs/previews.md: only when a stack (staging) has previews on
    if source is not None:
        files[source.github.backend_repository][previews.PATH] = previews.render(source, routes)
    return {repo: dict(sorted(paths.items())) for repo, paths in sorted(files.items())}


def _migration_runner(routes: Sequence[object]) -> str:
    """The runner's source with the header every generated file carries (comment lines before the docstring)."""
    from workflows.pipeline import routes_source

    if script_modules(MIGRATION_RUNNER):  # committed as one file into the app repository: it must stand alone
        raise ValueError(f"{MIGRATION_RUNNER} imports {script_modules(MIGRATION_RUNNER)}: it must be one file")
    lines = generated_header(
        "Migration runner: Railway's pre-deploy command (`python apply_migrations.py`).",
        routes_source(routes),  # type: ignore[arg-type]
    )
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + bundled_script(MIGRATION_RUNNER)


def render_infra_workflows() -> dict[str, str]:
    """Path -> YAML of this repository's own workflows (.github/workflows of maya-infra)."""
    return infra.render()
