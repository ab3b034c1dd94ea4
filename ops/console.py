"""What the on-call commands share about talking to a person: times and ages, progress lines,
the production confirmation, and turning failures into a message and an exit status.

Exit statuses of ``status``, ``health`` and ``rollback``: 0 ok; 1 unhealthy or the operation failed;
2 usage, configuration or credentials problem, or a refusal (nothing to roll back to, not confirmed).
Reports go to stdout; progress of long waits and errors go to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from components.railway import errors as railway_errors
from ops.context import OpsError, StackContext
from ops.vercel import VercelError

OK, FAILED, USAGE = 0, 1, 2


class Progress:
    """Progress lines on stderr for waits longer than a moment: what is awaited, its state, time left."""

    def __init__(self, err: TextIO, clock_fn: Callable[[], float] = time.monotonic) -> None:
        self._err = err
        self._clock = clock_fn
        self._start = clock_fn()

    def elapsed(self) -> float:
        return self._clock() - self._start

    def say(self, text: str, deadline: float | None = None) -> None:
        left = f", {max(0, int(deadline - self._clock()))}s left" if deadline is not None else ""
        print(f"  … {text} ({int(self.elapsed())}s{left})", file=self._err, flush=True)


def confirm(stack: str, action: str, *, yes: bool, stdin: TextIO, err: TextIO) -> None:
    """On production, ask the person to type the stack's name (unless ``--yes``); refuse without a TTY."""
    if stack != "production" or yes:
        return
    if not stdin.isatty():
        raise OpsError(f"refusing to {action} on production without confirmation: no terminal to ask; pass --yes")
    print(f"About to {action}.\nType the stack name ({stack}) to confirm: ", end="", file=err, flush=True)
    answer = stdin.readline(200).strip()
    if answer != stack:
        raise OpsError(f"not confirmed (typed {answer!r}); nothing was changed")


class Waiter:
    """A deadline, a poll interval and progress lines on stderr: every wait here is bounded by both."""

    def __init__(self, timeout: float, poll: float, err: TextIO, sleep: Callable[[float], None] = time.sleep) -> None:
        if timeout <= 0 or poll < 0:
            raise OpsError("--timeout must be > 0 and --poll >= 0")
        self.progress = Progress(err)
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.poll = poll
        self._sleep = sleep

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def pause(self, what: str) -> bool:
        """Say what is awaited and sleep one interval; False once the deadline has passed."""
        if self.left() <= 0:
            return False
        self.progress.say(what, self.deadline)
        self._sleep(min(self.poll, self.left()))
        return True


def run_guarded(command: str, err: TextIO, body: Callable[[], int]) -> int:
    """Run ``body``; report an :class:`OpsError`, a Railway or a Vercel error as one line on stderr."""

    try:
        return body()
    except OpsError as exc:
        print(f"ops {command}: {exc}", file=err)
        return exc.code
    except railway_errors.NotAuthorizedError as exc:
        print(f"ops {command}: {exc}. Check RAILWAY_API_TOKEN / maya-infra:railwayToken.", file=err)
        return USAGE
    except railway_errors.RailwayError as exc:
        print(f"ops {command}: {exc}", file=err)
        return FAILED
    except VercelError as exc:
        print(f"ops {command}: {exc}", file=err)
        return USAGE if exc.is_config_problem else FAILED


@dataclass(frozen=True)
class Streams:
    """Where a command reads and writes, and the environment it sees: one value handed to every handler.

    Tests pass their own; ``python -m ops`` uses the process's (read when the value is made, so pytest's
    capture and redirections apply).
    """

    env: Mapping[str, str] | None = None
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)


#: A subcommand's entry point, set as the parser's ``handler`` default: (arguments, streams) -> exit status.
Handler = Callable[[argparse.Namespace, Streams], int]

#: What a stack command does once its stack is loaded: (context, arguments, streams) -> exit status.
StackAction = Callable[[StackContext, argparse.Namespace, Streams], int]


@dataclass(frozen=True)
class StackCommand:
    """The handler of a command that works on one stack: load ``--stack``/``--outputs``, run ``action``.

    One class instead of one forwarding function per command; ``action`` stays visible to tests.
    """

    command: str
    action: StackAction

    def __call__(self, args: argparse.Namespace, io: Streams) -> int:
        def body() -> int:
            ctx = StackContext.load(args.stack, args.outputs, io.env)
            return self.action(ctx, args, io)

        return run_guarded(self.command, io.err, body)
