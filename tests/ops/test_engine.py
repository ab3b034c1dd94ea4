"""ops/engine.py: every ``pulumi`` run of ``ops`` that writes the state is never killed on Ctrl-C.

The behaviour itself is tested through a real ``ops apply`` (tests/ops/test_plan.py, Ctrl-C to its process
group); this keeps the other state-writing run, ``ops adopt``'s recording ``pulumi up``, on the same runner.
"""

from __future__ import annotations

import inspect

from ops import adopt
from ops import plan as ops_plan
from ops.engine import run_to_the_end


def test_every_state_writing_run_uses_the_runner_that_waits() -> None:
    assert ops_plan.Pulumi("production").run is run_to_the_end
    assert inspect.signature(adopt.record_railway).parameters["run"].default is run_to_the_end
