"""ops/context.py tells the true cause: no engine, an unreadable state backend, a missing passphrase, bad outputs."""

from __future__ import annotations

import json
import shlex
import stat
from pathlib import Path

import pytest

from ops.context import OpsError, StackContext


def _fake_pulumi(folder: Path, stderr: str, code: int = 255) -> Path:
    """A `pulumi` on PATH that fails like the real one does in one situation."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pulumi"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(stderr)} >&2\nexit {code}\n")  # builtins only
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def _context(tmp_path: Path) -> StackContext:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"stack": "staging", "backend_url": "https://x.example"}))
    return StackContext.load("staging", outputs, {})


def _secret_error(ctx: StackContext) -> str:
    with pytest.raises(OpsError) as caught:
        ctx.secret("RAILWAY_API_TOKEN", "railwayToken")
    return str(caught.value)


def test_missing_engine_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = _secret_error(_context(tmp_path))
    assert "pulumi CLI is not on PATH" in message and "RAILWAY_API_TOKEN" in message
    assert "passphrase" not in message


def test_unreadable_state_backend_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said = "error: could not connect to backend: failed to connect to `host=db.internal`: dial error"
    monkeypatch.setenv("PATH", str(_fake_pulumi(tmp_path / "bin", said)))
    message = _secret_error(_context(tmp_path))
    assert "state backend" in message and "dial error" in message and "passphrase" not in message


def test_missing_passphrase_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said = "error: getting stack configuration: passphrase must be set with PULUMI_CONFIG_PASSPHRASE"
    monkeypatch.setenv("PATH", str(_fake_pulumi(tmp_path / "bin", said)))
    message = _secret_error(_context(tmp_path))
    assert "PULUMI_CONFIG_PASSPHRASE" in message and "state backend" not in message


def test_missing_key_is_reported_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said = "error: configuration key 'maya-infra:railwayToken' not found for stack 'staging'"
    monkeypatch.setenv("PATH", str(_fake_pulumi(tmp_path / "bin", said)))
    message = _secret_error(_context(tmp_path))
    assert "pulumi config set --secret maya-infra:railwayToken" in message and "does not hold it" in message


@pytest.mark.parametrize("text", ["[1, 2]", '"backend"', "42", "null"])
def test_outputs_that_are_json_but_not_an_object_are_a_clear_error(tmp_path: Path, text: str) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(text)
    with pytest.raises(OpsError) as caught:
        StackContext.load("staging", outputs, {})
    assert "must be a JSON object" in str(caught.value) and str(outputs) in str(caught.value)


def test_ops_command_with_a_list_as_outputs_exits_2_without_traceback(tmp_path: Path) -> None:
    import io

    from ops.__main__ import build_parser
    from ops.console import Streams

    outputs = tmp_path / "outputs.json"
    outputs.write_text("[]")
    args = build_parser().parse_args(["health", "--stack", "staging", "--outputs", str(outputs)])
    err = io.StringIO()
    assert args.handler(args, Streams({}, io.StringIO(), io.StringIO(), err)) == 2
    assert "must be a JSON object" in err.getvalue() and "Traceback" not in err.getvalue()


def _pulumi_printing(folder: Path, stdout: str) -> Path:
    """A `pulumi` on PATH that prints ``stdout`` and succeeds (what `pulumi stack output --json` prints)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pulumi"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(stdout)}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def test_outputs_from_pulumi_are_checked_for_their_stack_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi stack output --stack staging` that answers production's outputs (a state backend holding
    another copy of the stack, a mis-set PULUMI_BACKEND_URL) is refused like a file of the other stack."""
    for declared in ("staging", "production"):
        outputs = json.dumps({"stack": declared, "backend_url": "https://x.example"})
        monkeypatch.setenv("PATH", str(_pulumi_printing(tmp_path / declared, outputs)))
        if declared == "staging":
            assert StackContext.load("staging", None, {}).outputs["stack"] == "staging"
            continue
        with pytest.raises(OpsError) as caught:
            StackContext.load("staging", None, {})
        said = "from `pulumi stack output --json --stack staging` are stack production's, not staging's"
        assert said in str(caught.value)
