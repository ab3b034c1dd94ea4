"""The pack on the real engine: `pulumi preview --policy-pack policy` passes a clean stack and refuses one that
violates a mandatory policy, naming it. Railway resources only (the GitHub and Vercel plugins are not
available offline; their rules are covered in test_rules.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import engine_bin, local_overrides
from tests.fakes.railway_api import FakeRailway
from tests.policy.pack_stack import pack_stack, with_pack
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    return engine_bin()


@pytest.fixture
def fake() -> Iterator[FakeRailway]:
    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=1) as api:
        yield api


def _overrides(fake: FakeRailway, **backend: Any) -> dict[str, Any]:
    overrides = local_overrides(fake.url, ["railway"])
    overrides["maya-infra:backend"].update(backend)
    return overrides


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_clean_stack_passes_the_pack(stack: str, tmp_path: Path, bin_dir: Path, fake: FakeRailway) -> None:
    result = with_pack(pack_stack(tmp_path, stack, _overrides(fake), bin_dir), "preview")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "maya-infra@v1.0.0" in output and "mandatory" not in output
    assert fake.count(mutations_only=True) == 0


def test_missing_migration_command_is_refused(tmp_path: Path, bin_dir: Path, fake: FakeRailway) -> None:
    stack = pack_stack(tmp_path, "staging", _overrides(fake, preDeployCommand="echo no migrations"), bin_dir)
    assert stack.cli("preview", "--non-interactive").returncode == 0  # the program itself accepts it
    result = with_pack(stack, "preview")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "[mandatory]  railway-health-and-migrations" in output
    assert "does not run the migrations" in output and "backend-settings" in output
    # `up` previews first (no --skip-preview): the refusal comes before any change. With --skip-preview the
    # engine would stop only at the refused resource, after creating those registered before it.
    refused_up = with_pack(stack, "up", "--yes")
    assert refused_up.returncode != 0 and "railway-health-and-migrations" in refused_up.stdout + refused_up.stderr
    assert fake.count(mutations_only=True) == 0, "a refused update must not touch Railway"


def test_sharing_with_the_other_stack_is_refused(tmp_path: Path, bin_dir: Path, fake: FakeRailway) -> None:
    overrides = _overrides(fake, customDomain="api.mayassistant.com", projectName="maya-production")
    result = with_pack(pack_stack(tmp_path, "staging", overrides, bin_dir), "preview")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert output.count("[mandatory]  stacks-share-nothing") == 2
    assert "domain 'api.mayassistant.com' also belongs to stack 'production'" in output
    assert "Railway project 'maya-production' also belongs to stack 'production'" in output
