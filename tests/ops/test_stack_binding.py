"""Every mutating command acts on the stack it names, or on nothing (issue 27, "the wrong-stack matrix").

Both stacks run side by side on one fake Railway and one fake Vercel (tests/ops/stacks_world.py), as on the
rehearsal. With one stack's outputs (the env file of the other stack sourced, or ``--outputs``) and
``--stack`` of the other, every mutating command is refused with one line and exit 2 before ANY request,
and so is every command that only reads (it would print one stack's objects under the other's name).
With outputs that claim the right stack but name the other stack's projects (a stale or hand-edited file),
the command reads the project once and refuses before any write. With the right outputs, it proceeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ops.stacks_world import STACKS, Stacks, two_stacks

pytestmark = pytest.mark.timeout(240)
FAST = ("--poll", "0.02")

#: Every mutating command: its words, and its options given the stack whose outputs are used.
Options = Callable[[Stacks, str], tuple[str, ...]]
MUTATING: dict[str, tuple[tuple[str, ...], Options]] = {
    "rollback backend": (("rollback", "backend"), lambda s, of: ("--yes", "--timeout", "20", *FAST)),
    "rollback frontend": (("rollback", "frontend"), lambda s, of: ("--yes", "--timeout", "20", *FAST)),
    "backup": (("backup",), lambda s, of: FAST),
    "restore": (
        ("restore",),
        lambda s, of: ("--backup", s.stacks[of].backup_id, "--yes", "--health-wait", "5", *FAST),
    ),
    "previews prune": (("previews",), lambda s, of: ("--prune-older-than", "1d", "--yes")),
}


def argv(stacks: Stacks, name: str, stack: str, outputs_of: str, *more: str) -> tuple[str, ...]:
    """``name``'s command line with ``--stack stack``, its options built for ``outputs_of``'s objects."""
    words, options = MUTATING[name]
    return (*words, "--stack", stack, *more, *options(stacks, outputs_of))


OTHER = {"staging": "production", "production": "staging"}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    with two_stacks(tmp_path_factory.mktemp("stacks")) as world:
        yield world


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials never come from a real `pulumi config get` here."""
    from ops import context

    def refuse(*args: str, stack: str, timeout: float = 120) -> str:
        raise context.OpsError("pulumi is not used in these tests")

    monkeypatch.setattr(context, "_pulumi", refuse)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize("outputs_of", STACKS)
@pytest.mark.parametrize("name", sorted(MUTATING))
def test_another_stacks_outputs_are_refused_before_any_request(stacks: Stacks, name: str, outputs_of: str) -> None:
    named = OTHER[outputs_of]
    before = {s: stacks.live_commit(s) for s in STACKS}
    stacks.reset()
    ran = stacks.main(*argv(stacks, name, named, outputs_of), env=stacks.env(outputs_of))
    assert ran.code == 2, ran.text
    line = _one_line(ran.err)
    assert f"are stack {outputs_of}'s, not {named}'s" in line and "MAYA_OPS_OUTPUTS" in line
    assert stacks.requests() == 0  # from the outputs alone: not one request to either platform
    assert {s: stacks.live_commit(s) for s in STACKS} == before

    # the same with --outputs FILE (no env file): refused the same way
    env = {k: v for k, v in stacks.env(outputs_of).items() if k != "MAYA_OPS_OUTPUTS"}
    path = str(stacks.stacks[outputs_of].outputs_path)
    ran = stacks.main(*argv(stacks, name, named, outputs_of, "--outputs", path), env=env)
    assert ran.code == 2 and f"from {path} are stack {outputs_of}'s" in _one_line(ran.err)
    assert stacks.requests() == 0


#: The commands that only read: they would print one stack's objects under the other's name (issue 27).
READING: dict[str, tuple[str, ...]] = {
    "status": ("status",),
    "health": ("health", "--attempts", "1"),
    "backups": ("backups",),
    "previews": ("previews",),
}


@pytest.mark.parametrize("outputs_of", STACKS)
@pytest.mark.parametrize("name", sorted(READING))
def test_reading_commands_refuse_another_stacks_outputs_too(stacks: Stacks, name: str, outputs_of: str) -> None:
    named = OTHER[outputs_of]
    words = READING[name]
    stacks.reset()
    ran = stacks.main(words[0], "--stack", named, *words[1:], env=stacks.env(outputs_of))
    assert ran.code == 2 and ran.out == "", ran.text  # nothing printed under the wrong name
    assert f"are stack {outputs_of}'s, not {named}'s" in _one_line(ran.err)
    assert stacks.requests() == 0


def _lying_outputs(stacks: Stacks, tmp_path: Path, named: str, **from_other: Any) -> dict[str, str]:
    """``named``'s outputs file, but with ``from_other``'s keys taken from the other stack's outputs."""
    outputs = dict(stacks.stacks[named].outputs)
    other = stacks.stacks[OTHER[named]].outputs
    outputs.update({key: other[key] for key in from_other})
    path = tmp_path / f"{named}-stale.json"
    path.write_text(json.dumps(outputs))
    return stacks.env(named, MAYA_OPS_OUTPUTS=str(path))


@pytest.mark.parametrize("named", STACKS)
@pytest.mark.parametrize("name", sorted(MUTATING))
def test_outputs_naming_the_other_stacks_projects_are_refused_before_any_write(
    stacks: Stacks, tmp_path: Path, name: str, named: str
) -> None:
    if name == "previews prune" and named == "production":
        pytest.skip("production has no previews: refused by its config before any request (test_previews.py)")
    ids = ("railway_project_id", "railway_environment_id", "railway_service_id", "railway_volume_instance_id")
    env = _lying_outputs(stacks, tmp_path, named, vercel_project_id=1, **dict.fromkeys(ids, 1))
    stacks.reset()  # restore: the other stack's backup, as in the issue
    ran = stacks.main(*argv(stacks, name, named, OTHER[named]), env=env)
    assert ran.code == 2, ran.text
    line = _one_line(ran.err)
    assert "the outputs point at" in line and "nothing was done" in line
    assert f"not stack {named}'s" in line or f"stack {named}'s project is" in line
    assert stacks.writes() == 0
    assert stacks.requests() == 1  # the one read of the project that showed it is the other stack's


@pytest.mark.parametrize(
    ("stale", "words"),
    [
        ({"railway_environment_id": 1}, "environment"),  # the right project, the other stack's environment
        ({"railway_service_id": 1}, "which is not a service of"),
    ],
)
def test_a_stale_environment_or_service_is_refused_before_any_write(
    stacks: Stacks, tmp_path: Path, stale: dict[str, Any], words: str
) -> None:
    env = _lying_outputs(stacks, tmp_path, "staging", **stale)
    stacks.reset()
    ran = stacks.main("rollback", "backend", "--stack", "staging", "--yes", *FAST, env=env)
    assert ran.code == 2 and words in _one_line(ran.err)
    assert stacks.writes() == 0


def test_a_volume_of_the_other_stack_is_refused_before_any_write(stacks: Stacks, tmp_path: Path) -> None:
    env = _lying_outputs(stacks, tmp_path, "staging", railway_volume_instance_id=1)
    for command in (("backup", *FAST), ("restore", "--backup", stacks.stacks["production"].backup_id, "--yes")):
        stacks.reset()
        ran = stacks.main(*command[:1], "--stack", "staging", *command[1:], env=env)
        assert ran.code == 2 and "not of stack staging's environment" in _one_line(ran.err)
        assert stacks.writes() == 0


def test_outputs_that_do_not_say_their_stack_are_refused(stacks: Stacks, tmp_path: Path) -> None:
    outputs = dict(stacks.stacks["staging"].outputs)
    del outputs["stack"]
    path = tmp_path / "anonymous.json"
    path.write_text(json.dumps(outputs))
    stacks.reset()
    ran = stacks.main("backup", "--stack", "staging", env=stacks.env("staging", MAYA_OPS_OUTPUTS=str(path)))
    assert ran.code == 2 and "do not say which stack they describe" in _one_line(ran.err)
    assert stacks.requests() == 0


@pytest.mark.parametrize("named", STACKS)
def test_the_right_stack_proceeds(stacks: Stacks, named: str) -> None:
    other = OTHER[named]
    untouched = (stacks.live_commit(other), stacks.volume_state(other))
    for name in sorted(MUTATING):
        if name == "previews prune" and named == "production":
            continue
        stacks.reset()
        ran = stacks.main(*argv(stacks, name, named, named), env=stacks.env(named))
        assert ran.code == 0, (name, ran.text)
        if name != "previews prune":  # nothing stale to prune: listing only
            assert stacks.writes() >= 1, name
    assert (stacks.live_commit(other), stacks.volume_state(other)) == untouched
