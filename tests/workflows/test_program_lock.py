"""maya-infra's own jobs install the program from a hashed lock that says what requirements.txt says.

Those jobs hold the stack's passphrase and the platforms' tokens: a package resolved afresh on the runner (a
transitive dependency of pulumi, say) would run inside them unreviewed. ``--require-hashes`` makes pip refuse
anything not in ``requirements-locked.txt``; these tests keep the lock and requirements.txt saying the same.
"""

from __future__ import annotations

import re
from typing import Any

from config import PROJECT_DIR
from workflows.tools import PROGRAM_LOCK

PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


def _pins(text: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(text)}


def _locked() -> str:
    return (PROJECT_DIR / PROGRAM_LOCK).read_text()


def test_the_lock_pins_every_requirement_at_its_version() -> None:
    wanted = _pins((PROJECT_DIR / "requirements.txt").read_text())
    locked = _pins(_locked())
    assert wanted, "requirements.txt pins nothing?"
    differ = {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version}
    assert not differ, f"{PROGRAM_LOCK} disagrees with requirements.txt {differ}: run scripts/lock-ci-tools.sh"


def test_every_locked_package_carries_a_hash() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", _locked().split("\n\n")[-1].strip())
    packages = [entry for entry in entries if PIN.match(entry)]
    assert len(packages) >= len(_pins((PROJECT_DIR / "requirements.txt").read_text()))
    unhashed = [entry.split()[0] for entry in packages if "--hash=sha256:" not in entry]
    assert not unhashed, f"no hash for {unhashed}; pip --require-hashes would refuse the whole install"


def test_infra_jobs_install_only_the_hashed_lock(workflows: dict[str, dict[str, Any]]) -> None:
    """Every pip install of maya-infra's workflows requires hashes and reads the lock, in every job."""
    checked = 0
    for key, workflow in workflows.items():
        if not key.startswith("infra/"):
            continue
        for job_id, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                for line in str(step.get("run", "")).splitlines():
                    if re.search(r"\bpip3? install\b", line):
                        assert "--require-hashes" in line and PROGRAM_LOCK in line, f"{key} {job_id}: {line.strip()}"
                        checked += 1
    assert checked >= 8  # preview, plan, up and drift of both stacks, preflight and the schema check
