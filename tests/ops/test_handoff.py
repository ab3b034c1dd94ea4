"""``ops handoff`` with a stand-in for ``pulumi stack output`` (the real engine reads staging's output in
tests/engine/test_plan_exact.py): staging's own credentials only, one line for each thing that can be missing,
the file written for its owner only, and the document checked against staging's config before it is written."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from config import load_from_stack_file
from ops import handoff as command
from ops.context import OpsError
from tests.components.program import run_program

STAGING_ENV = {
    "STAGING_PULUMI_BACKEND_URL": "postgres://staging@db/state",
    "STAGING_PULUMI_CONFIG_PASSPHRASE": "staging-passphrase",
    # production's own, in the same job: never handed to the read of staging's output
    "PULUMI_BACKEND_URL": "postgres://production@db/state",
    "PULUMI_CONFIG_PASSPHRASE": "production-passphrase",
    "PULUMI_ACCESS_TOKEN": "production-cloud-token",
    "AWS_SECRET_ACCESS_KEY": "production-state-bucket-key",
    "PATH": "/usr/bin",
}


def _document() -> Any:
    return run_program("staging").outputs["github_handoff"]


class Output:
    def __init__(self, stdout: str = "", code: int = 0, stderr: str = "") -> None:
        self.stdout, self.code, self.stderr = stdout, code, stderr
        self.env: dict[str, str] = {}
        self.args: list[str] = []

    def __call__(self, args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.args, self.env = args, kw["env"]
        return subprocess.CompletedProcess(args, self.code, self.stdout, self.stderr)


def test_staging_is_read_with_its_own_credentials_only() -> None:
    env = command.reader_environment(load_from_stack_file("staging"), STAGING_ENV)
    assert env["PULUMI_BACKEND_URL"] == "postgres://staging@db/state"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "staging-passphrase"
    assert not [v for v in env.values() if v.startswith("production")] and env["PATH"] == "/usr/bin"


def test_a_missing_staging_credential_is_one_line() -> None:
    with pytest.raises(OpsError) as missing:
        command.reader_environment(load_from_stack_file("staging"), {"STAGING_PULUMI_BACKEND_URL": "x"})
    assert str(missing.value).startswith("STAGING_PULUMI_CONFIG_PASSPHRASE not set: the hand-off of staging is read")


def test_the_hand_off_is_written_for_its_owner_only(tmp_path: Path) -> None:
    reader = Output(json.dumps(_document()))
    [(path, received)] = command.receive(load_from_stack_file("production"), STAGING_ENV, tmp_path, run=reader)
    assert reader.args[:4] == ["pulumi", "stack", "output", "github_handoff"] and "--show-secrets" in reader.args
    assert path == tmp_path / "staging.json" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert received.ci["maya"]["RAILWAY_TOKEN"].secret is True
    assert json.loads(path.read_text()) == _document()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Output(code=255, stderr="error: current stack does not have output property 'github_handoff'"),
         "stack staging has no output github_handoff: run `pulumi up --stack staging` first"),
        (Output(code=255, stderr="error: incorrect passphrase"),
         "staging's secrets cannot be decrypted: check STAGING_PULUMI_CONFIG_PASSPHRASE"),
        (Output(json.dumps({"version": 1, "stack": "production", "ci": {}})),
         "is not usable: it is the hand-off of stack 'production', not of 'staging'"),
    ],
)  # fmt: skip
def test_each_failure_is_one_line_and_writes_nothing(tmp_path: Path, answer: Output, expected: str) -> None:
    with pytest.raises(OpsError) as failed:
        command.receive(load_from_stack_file("production"), STAGING_ENV, tmp_path, run=answer)
    assert expected in str(failed.value) and "\n" not in str(failed.value)
    assert not list(tmp_path.iterdir())


def test_a_production_value_in_the_hand_off_is_refused(tmp_path: Path) -> None:
    """Names the variable table does not give staging's environments are refused, not declared."""
    document = _document()
    document["ci"]["maya"]["PULUMI_CONFIG_PASSPHRASE"] = {"value": "x", "secret": True}
    with pytest.raises(OpsError, match=r"ci.maya holds \['PULUMI_CONFIG_PASSPHRASE'\]"):
        command.receive(load_from_stack_file("production"), STAGING_ENV, tmp_path, run=Output(json.dumps(document)))


def test_only_production_declares_another_stacks_github() -> None:
    with pytest.raises(OpsError, match="declares no other stack's GitHub settings"):
        command.receive(load_from_stack_file("staging"), STAGING_ENV, run=Output())
