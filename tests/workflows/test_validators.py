"""Every generated workflow passes actionlint, check-jsonschema and zizmor, offline, with zero findings.

A zizmor finding may only be silenced by an inline `# zizmor: ignore[...]` comment that says why; the
test counts those and checks each carries a reason. The validators run on every rendered file at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
ZIZMOR = str(VENV_BIN / "zizmor")
CHECK_JSONSCHEMA = str(VENV_BIN / "check-jsonschema")
IGNORE_RE = re.compile(r"# zizmor: ignore\[(?P<audit>[a-z-]+)\](?P<reason>.*)$")


def _files(tree: Path) -> list[str]:
    files = sorted(str(p) for p in tree.rglob("*.yml"))
    assert files, f"nothing to validate under {tree}"  # actionlint without files would lint the working directory
    return files


BAD_WORKFLOW = """\
name: bad
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}" $UNQUOTED
"""


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workflow that breaks the baseline, to show that each validator would catch it (negative control)."""
    root = tmp_path_factory.mktemp("bad")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW)
    return root


def _run(
    command: list[str], *, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)


@pytest.mark.timeout(900)
def test_actionlint_with_shellcheck(rendered_tree: Path, actionlint: str, shellcheck: str) -> None:
    # pyflakes is switched off explicitly: no generated step runs Python through `shell: python`.
    result = _run([actionlint, "-no-color", f"-shellcheck={shellcheck}", "-pyflakes=", *_files(rendered_tree)])
    assert result.returncode == 0, f"actionlint findings:\n{result.stdout}{result.stderr}"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_check_jsonschema(rendered_tree: Path, schema: str) -> None:
    result = _run([CHECK_JSONSCHEMA, "--builtin-schema", schema, *_files(rendered_tree)])
    assert result.returncode == 0, f"check-jsonschema --builtin-schema {schema}:\n{result.stdout}{result.stderr}"


def _offline_prefix() -> list[str]:
    """Run inside a network namespace with no interface when the machine allows it; else via a dead proxy."""
    unshare = shutil.which("unshare")
    if unshare and _run([unshare, "-n", "true"], timeout=10).returncode == 0:
        return [unshare, "-n"]
    return []


def _zizmor(tree: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    dead = "http://127.0.0.1:9"  # nothing listens there: any request fails at once
    env = {**os.environ, "GH_TOKEN": "not-a-token", "HTTPS_PROXY": dead, "HTTP_PROXY": dead, "NO_COLOR": "1"}
    env.pop("ZIZMOR_OFFLINE", None)
    command = [*_offline_prefix(), ZIZMOR, "--no-config", "--no-progress", "--persona=auditor", "--format=json"]
    return _run([*command, *extra, *_files(tree)], timeout=60, env=env)


@pytest.mark.timeout(120)
def test_zizmor_offline_finds_nothing_at_any_severity(rendered_tree: Path) -> None:
    result = _zizmor(rendered_tree, "--offline")
    assert result.returncode == 0, f"zizmor exit {result.returncode}:\n{result.stdout}\n{result.stderr[-3000:]}"
    findings = json.loads(result.stdout)
    assert findings == [], json.dumps(findings, indent=1)[:5000]


@pytest.mark.timeout(120)
def test_zizmor_offline_makes_no_network_call(rendered_tree: Path) -> None:
    """The same run without --offline (and with a token) tries the network and fails: the check has teeth."""
    if not _offline_prefix():
        pytest.skip("no network namespace here; the dead proxy alone cannot prove the contrast")
    online = _zizmor(rendered_tree)
    assert online.returncode != 0, "zizmor without --offline did not need the network: the offline check proves nothing"
    assert _zizmor(rendered_tree, "--offline").returncode == 0


@pytest.mark.timeout(300)
def test_validators_reject_a_bad_workflow(bad_tree: Path, actionlint: str, shellcheck: str) -> None:
    linted = _run([actionlint, "-no-color", f"-shellcheck={shellcheck}", "-pyflakes=", *_files(bad_tree)])
    assert linted.returncode == 1 and "shellcheck" in linted.stdout and "untrusted" in linted.stdout, linted.stdout
    timeouts = _run(
        [CHECK_JSONSCHEMA, "--builtin-schema", "custom.github-workflows-require-timeout", *_files(bad_tree)]
    )
    assert timeouts.returncode == 1
    audits = {f["ident"] for f in json.loads(_zizmor(bad_tree, "--offline").stdout)}
    assert {"unpinned-uses", "template-injection", "dangerous-triggers", "artipacked"} <= audits, audits


def test_every_silenced_finding_says_why(rendered: dict[str, str]) -> None:
    ignores = []
    for key, text in rendered.items():
        for line in text.splitlines():
            match = IGNORE_RE.search(line)
            if match:
                ignores.append((key, match.group("audit")))
                assert len(match.group("reason").strip()) >= 20, f"{key}: an ignore without a reason: {line}"
    # Today: none. The CLIs come from a lockfile (npm ci) and the Python tools from hashed lockfiles
    # (workflows/tools.py), so adhoc-packages has nothing left to silence; secrets-outside-env is never ignored:
    # every job that reads a secret declares its environment. Any ignore must be a reviewed change.
    assert ignores == []
