"""Measure the adoption of the seeded "MAYA as it runs today" on the real engine, for both stacks.

    MAYA_ENGINE_BIN=$(bash scripts/provide-engine.sh) venv/bin/python -m bench.adoption

Prints, per stack: objects found (table verdicts), Railway requests of discovery and of the recording run
(all reads), the following `pulumi preview`'s counts, the requests and mutations the following `up` sends,
those of an `up` after one declared variable is dropped from the code (one `variableDelete`, nothing else),
and — for production, found under the dashboard's names "MAYA"/"maya" — what `destroy` does, then what
remains after a deliberate tear-down.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

from pulumi import automation as auto

import config
from components.railway.client import ClientSettings, RailwayClient
from ops import adopt
from ops.adopt_railway import declared_values
from tests.engine.harness import engine_bin, local_overrides, make_stack
from tests.engine.test_adopt import DASHBOARD_NAMES, DROP, RAILWAY_TOKEN, declared_variables, ops_adopt
from tests.fakes.railway_api import FakeRailway
from tests.fakes.running_maya import MARKER, seed
from tests.secrets import TEST_SECRETS


def measure(stack_name: str, root: Path) -> None:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=1) as fake:
        overrides = local_overrides(fake.url, ["railway"])
        stack = make_stack(root / stack_name, stack_name, overrides, bin_dir=engine_bin())
        cfg = config.load_from_stack_file(stack_name, stack.project_dir)
        production = stack_name == "production"
        running = seed(
            fake,
            cfg,
            declared_variables(stack_name, overrides),
            settings={"healthcheckTimeout": 120} if production else None,
            names=DASHBOARD_NAMES if production else None,
        )

        found = adopt.Discovery(stack_name)
        client = RailwayClient(RAILWAY_TOKEN, ClientSettings(endpoint=fake.url, requests_per_second=500))
        secrets = {k.split(":", 1)[1]: v for k, v in TEST_SECRETS.items()}
        adopt.discover_railway(client, cfg, {}, found, declared_values(cfg, secrets))
        discovery = fake.count()
        objects = [r for r in found.rows if r.id != "-" and r.verdict != adopt.EXTRA]
        fake.reset_counters()
        result = ops_adopt(stack, "--yes")
        assert result.returncode == 0, result.stdout + result.stderr
        total = fake.count()
        print(f"\n== {stack_name}")
        print(f"objects in the table: {len(found.rows)} {dict(Counter(r.verdict for r in found.rows))}")
        print(
            f"Railway requests, discovery: {discovery} for {len(objects)} objects "
            f"({discovery / len(objects):.2f}/object)"
        )
        print(
            f"Railway requests, whole `ops adopt` (discovery + recording run): {total}; mutations: "
            f"{fake.count(mutations_only=True)}"
        )

        preview = stack.cli("preview", "--json", "--non-interactive")
        steps = json.loads(preview.stdout).get("steps") or []
        ops_count = Counter(s["op"] for s in steps)
        names = {op: [s["urn"].rsplit("::", 1)[-1] for s in steps if s["op"] == op] for op in ("create", "update")}
        print(f"preview: {dict(ops_count)}; creates: {names['create']}")
        print(f"         updates: {names['update']}")

        fake.reset_counters()
        stack.up()
        sent = [r.operation_name for r in fake.requests if r.is_mutation]
        print(f"first up: {fake.count()} requests; mutations sent {dict(Counter(sent))}")

        envvars = stack.project_dir / "config" / "envvars.py"
        envvars.write_text(envvars.read_text() + DROP)  # the code drops FRONTEND_URL
        fake.reset_counters()
        stack.up()
        sent = [r.operation_name for r in fake.requests if r.is_mutation]
        print(f"up after one variable is dropped: {fake.count()} requests; mutations sent {dict(Counter(sent))}")
        intact = fake.state.volumes[running.volume_id].get("_marker") == MARKER
        print(f"volume {running.volume_id} still there, marker intact: {intact}")

        if stack_name == "production":
            fake.reset_counters()
            try:
                stack.destroy()
                print("destroy: NOT refused")
            except auto.CommandError as exc:
                line = next((x for x in str(exc).splitlines() if "cannot be deleted" in x), "")
                print(f"destroy: refused ({line.strip()[:160]}); mutations sent: {fake.count(mutations_only=True)}")
        stack.destroy_deliberately()
        remains = {
            t: len(getattr(fake.state, t))
            for t in (
                "projects",
                "environments",
                "services",
                "custom_domains",
                "service_domains",
                "triggers",
                "volumes",
                "project_tokens",
            )
        }
        print(f"after a deliberate tear-down, on Railway: {remains}")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="maya-adoption-"))
    for stack_name in ("staging", "production"):
        measure(stack_name, root)


if __name__ == "__main__":
    main()
