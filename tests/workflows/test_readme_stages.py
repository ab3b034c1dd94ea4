"""The architecture page's table "Every stage of the pipeline, as a job or step" names real workflow steps.

The table is how a reader finds a spec stage in the YAML; a renamed step would leave it pointing at nothing.
Every quoted step name in it must be the name (or, where the table abbreviates with "…", the start of the
name) of a step that the program generates for one of the stacks.
"""

from __future__ import annotations

import re
from pathlib import Path

from config.load import load_from_stack_file
from tests.workflows.conftest import load_workflow
from workflows import render_app_workflows

ROOT = Path(__file__).resolve().parents[2]


def _table() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    start = text.index("#### Every stage of the pipeline, as a job or step")
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def _step_names() -> set[str]:
    names: set[str] = set()
    for stack in ("staging", "production"):
        for files in render_app_workflows(load_from_stack_file(stack)).values():
            for path, content in files.items():
                if not path.startswith(".github/workflows/"):
                    continue
                for job in (load_workflow(content).get("jobs") or {}).values():
                    names.update(str(step["name"]) for step in job.get("steps", []) if "name" in step)
    return names


def test_every_step_the_readme_names_is_generated() -> None:
    quoted = re.findall(r"“([^”]+)”", _table())
    assert len(quoted) > 40, "the stage table (docs/architecture.md) lost its step names"
    names = _step_names()
    missing = []
    for name in quoted:
        stem = name.replace("…", "").strip()
        found = any(step.startswith(stem) for step in names) if name.endswith("…") else stem in names
        if not found:
            missing.append(name)
    assert not missing, f"docs/architecture.md names steps no workflow has: {missing}"


def test_every_job_the_staging_gate_requires_has_its_row() -> None:
    """A job the staging → production gate requires (the deploy, E2E, the promotion, the performance stage) is
    a stage a reader must find: some row's "where" names it for its app (F, B or F/B `job`)."""
    wheres = [row.split(" | ", 1)[1] for row in _table().splitlines() if row.startswith("| ") and " | " in row]
    for file, app in ((".github/workflows/frontend.yml", "F"), (".github/workflows/backend.yml", "B")):
        content = render_app_workflows(load_from_stack_file("production"))["maya"][file]
        gate = load_workflow(content)["jobs"]["staging-gate"]["steps"][-1]["run"]
        required = re.findall(r"--require-job (\S+)", gate)
        assert "performance" in required, gate
        for job in required:
            named = re.compile(rf"\b({app}|F/B) (`[a-z-]+`/)*`{job}`")
            assert any(named.search(where) for where in wheres), f"docs/architecture.md has no row for {app} `{job}`"
