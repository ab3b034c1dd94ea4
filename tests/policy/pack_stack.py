"""A stack of a temp copy of the project, with the policy pack copied in, on the real engine.

The pack is run as `pulumi <cmd> --policy-pack policy` from the project copy, exactly like in the repository:
policy/PulumiPolicy.yaml points at ../venv (the copy's venv links to the repository's), and the pack reads
the other stack's Pulumi.<stack>.yaml from the project copy.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config import STACKS
from tests.engine.harness import REPO, EngineStack, make_stack


def pack_stack(root: Path, stack: str, overrides: Mapping[str, Any], bin_dir: Path) -> EngineStack:
    engine_stack = make_stack(root, stack, overrides, bin_dir=bin_dir)
    project = engine_stack.project_dir
    if not (project / "policy").exists():
        shutil.copytree(REPO / "policy", project / "policy", ignore=shutil.ignore_patterns("__pycache__"))
    for other in STACKS:
        if other != stack and not (project / f"Pulumi.{other}.yaml").exists():
            shutil.copy2(REPO / f"Pulumi.{other}.yaml", project / f"Pulumi.{other}.yaml")
    return engine_stack


def with_pack(engine_stack: EngineStack, *args: str) -> subprocess.CompletedProcess[str]:
    """`pulumi <args> --policy-pack policy --non-interactive` in the project copy."""
    return engine_stack.cli(*args, "--non-interactive", "--policy-pack", "policy")
