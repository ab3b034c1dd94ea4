"""How ``ops`` runs the pulumi CLI for a command that changes the state (``apply``, ``adopt``'s recording run).

Never killed on Ctrl-C: a ``pulumi up`` killed mid-update leaves pending operations in the state.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


class EngineInterrupted(KeyboardInterrupt):
    """Ctrl-C reached a ``pulumi`` run, which stopped by itself; ``completed`` holds what it printed."""

    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        super().__init__()
        self.completed = completed


def run_to_the_end(
    args: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    capture_output: bool = True,
    text: bool = True,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` of the engine, except on Ctrl-C: pulumi is waited for, never killed.

    ``subprocess.run`` kills its child 0.25 s after a KeyboardInterrupt: a ``pulumi up`` killed so leaves pending
    operations in the state (README, "Recovering from an interrupted `pulumi up`"). Ctrl-C at a terminal
    reaches pulumi too (one process group): it cancels by itself, letting its in-flight operations finish. A
    further Ctrl-C is passed on to it (pulumi then stops at once), so one that reached only this process
    still stops the engine.
    """
    with subprocess.Popen(
        args, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        except KeyboardInterrupt:
            print(
                f"Ctrl-C: waiting for `pulumi {args[1]}` to stop by itself (its operations in flight finish; "
                "Ctrl-C again stops it at once)",
                file=sys.stderr,
                flush=True,
            )
            while True:
                try:
                    out, err = process.communicate()
                    break
                except KeyboardInterrupt:
                    process.send_signal(signal.SIGINT)
            raise EngineInterrupted(subprocess.CompletedProcess(args, process.returncode, out, err)) from None
    return subprocess.CompletedProcess(args, process.returncode, out, err)
