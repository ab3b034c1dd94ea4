"""What the on-call commands share about talking to a person: progress lines, the confirmation, what a
run has set going on a platform (:class:`Journal`, what Ctrl-C reports), and turning failures into one line
and an exit status.

Exit statuses of every ``ops`` command: 0 ok; 1 unhealthy, or the operation failed, or a platform could not
be reached; 2 usage, configuration or credentials problem, or a refusal (wrong stack, another command busy on
the stack, nothing to roll back to, not confirmed); 130 interrupted (Ctrl-C). Reports go to stdout; progress
of long waits and errors go to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from components.railway import errors as railway_errors
from ops.context import OpsError, StackContext
from ops.lock import stack_lock
from ops.vercel import VercelError

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130


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


def confirm(
    stack: str,
    action: str,
    *,
    yes: bool,
    stdin: TextIO,
    err: TextIO,
    destructive: bool = False,
    journal: Journal | None = None,
) -> None:
    """Ask the person to type the stack's name: always on production, and on any stack when the action is
    ``destructive`` (it loses data); ``--yes`` answers for them; without a terminal it is a refusal."""
    if yes or (stack != "production" and not destructive):
        return
    if not stdin.isatty():
        raise OpsError(f"refusing to go on without confirmation on {stack}: no terminal to ask; pass --yes to {action}")
    print(f"About to {action}.\nType the stack name ({stack}) to confirm: ", end="", file=err, flush=True)
    with journal.prompting() if journal is not None else _nothing():
        answer = stdin.readline(200).strip()
    if answer != stack:
        raise OpsError(f"not confirmed (typed {answer!r}); nothing was changed")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@dataclass
class Journal:
    """What this run has set going on a platform, for the one line an interruption or a failure must add.

    Railway and Vercel go on with a rollback, a backup or a restore whether or not this command still
    watches; so each write is recorded while it is being sent (``sending``: it may have landed) and once
    answered (``started``), with the command that shows its progress.
    """

    command: str = ""
    _started: dict[str, str] = field(default_factory=dict)
    _sending: str | None = None
    _follow: str | None = None
    _prompting: bool = False

    @contextmanager
    def sending(self, what: str, follow: str) -> Iterator[None]:
        """Around one write: ``what`` is under way and may have landed if the answer never comes. Left by
        Ctrl-C or by a lost answer, the write stays recorded as sent (it may be carried out); a refusal or a
        normal answer clears it."""
        self._sending, self._follow = what, follow
        try:
            yield
        except (KeyboardInterrupt, railway_errors.AmbiguousResultError):
            raise
        except BaseException:
            self._sending = None
            raise
        self._sending = None

    def started(self, key: str, what: str, follow: str) -> None:
        """The platform has accepted ``what`` (recorded under ``key``: later calls say more of the same)."""
        self._started[key] = what
        self._follow = follow

    @contextmanager
    def prompting(self) -> Iterator[None]:
        """A question is on the screen, its line unfinished: an interruption starts a new line (so the flag
        stays up when the block is left by an exception: Ctrl-C is reported after it)."""
        self._prompting = True
        yield
        self._prompting = False

    def going_on(self) -> str:
        """What was started and goes on without this command, and how to follow it ("" when nothing)."""
        parts = list(self._started.values())
        if self._sending:
            parts.append(f"{self._sending} (sent: the platform may be doing it)")
        if not parts:
            return ""
        return f"already started on the platform, and going on without this command: {'; '.join(parts)}; " + (
            f"`{self._follow}` shows its progress" if self._follow else "check the platform's dashboard"
        )

    def interrupted(self) -> str:
        """The one line printed on Ctrl-C."""
        start = "\n" if self._prompting else ""
        going_on = self.going_on()
        said = going_on if going_on else "nothing was started or changed on any platform"
        return f"{start}ops {self.command}: interrupted (Ctrl-C); {said}"


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


#: What ``run_guarded`` turns into one line: the refusals and failures a command can meet.
GUARDED = (OpsError, railway_errors.RailwayError, VercelError, httpx.TransportError)


def explain(exc: BaseException) -> tuple[str, int]:
    """(one line, exit status) for an exception of :data:`GUARDED`."""
    if isinstance(exc, OpsError):
        return str(exc), exc.code
    if isinstance(exc, railway_errors.NotAuthorizedError):
        return f"{exc}. Check RAILWAY_API_TOKEN / maya-infra:railwayToken.", USAGE
    if isinstance(exc, VercelError):
        return str(exc), USAGE if exc.is_config_problem else FAILED
    if isinstance(exc, httpx.TransportError):  # a direct httpx client (GitHub's in ops adopt): name where
        try:
            where = f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
        except RuntimeError:
            where = "the API"
        return f"cannot reach {where} ({type(exc).__name__}): check the URL that points there, and the network", 1
    return str(exc), FAILED


def run_guarded(command: str, err: TextIO, body: Callable[[], int], journal: Journal | None = None) -> int:
    """Run ``body``; report an :class:`OpsError`, a Railway or a Vercel error as one line on stderr, saying
    what the run had already started on a platform (``journal``) if anything."""
    try:
        return body()
    except GUARDED as exc:
        text, code = explain(exc)
        going_on = journal.going_on() if journal is not None else ""
        print(f"ops {command}: {text}" + (f"; {going_on}" if going_on else ""), file=err)
        return code


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
    #: What this run started on a platform (what ``python -m ops`` reports on Ctrl-C).
    journal: Journal = field(default_factory=Journal)


#: A subcommand's entry point, set as the parser's ``handler`` default: (arguments, streams) -> exit status.
Handler = Callable[[argparse.Namespace, Streams], int]

#: What a stack command does once its stack is loaded: (context, arguments, streams) -> exit status.
StackAction = Callable[[StackContext, argparse.Namespace, Streams], int]


@dataclass(frozen=True)
class StackCommand:
    """The handler of a command that works on one stack: load ``--stack``/``--outputs`` (refusing outputs of
    another stack), take the stack's lock when the command changes something (``mutating``), run ``action``.

    One class instead of one forwarding function per command; ``action`` stays visible to tests.
    """

    command: str
    action: StackAction
    #: Whether this invocation changes the stack (then one at a time per stack: :mod:`ops.lock`).
    mutating: Callable[[argparse.Namespace], bool] | None = None

    def __call__(self, args: argparse.Namespace, io: Streams) -> int:
        io.journal.command = self.command

        def body() -> int:
            ctx = StackContext.load(args.stack, args.outputs, io.env)
            if self.mutating is None or not self.mutating(args):
                return self.action(ctx, args, io)
            with stack_lock(ctx, self.command):
                return self.action(ctx, args, io)

        return run_guarded(self.command, io.err, body, io.journal)


def always(args: argparse.Namespace) -> bool:
    """``mutating`` of a command that always changes the stack."""
    return True
