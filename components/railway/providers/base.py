"""The base of every Railway dynamic provider: the shared check/diff/create/read/delete discipline.

Semantics every provider here keeps (see the dynamic-provider notes in the README):

* ``check`` validates inputs that are known and skips unknown ones (preview).
* ``diff`` compares only the declared input keys — never ``__provider`` — returns ``changes=True`` when a
  new value is still unknown, and lists the immutable keys that force a replacement. It sends nothing.
* ``create``/``update`` return the full outputs (inputs plus what Railway computed), because the engine
  keeps exactly what they return.
* ``delete`` is idempotent: "not found" is success.
* ``read`` (refresh) makes one request, reports what Railway really has, returns the inputs it implies so
  the next ``up`` reverts drift, and returns an empty id when the object is gone.
* Credentials arrive through ``configure()``; the instances carry no state, so nothing about the client
  or the token is pickled into ``__provider``.
* **Exactly once**: every create goes through :meth:`RailwayProvider.create_exactly_once` (look the
  natural key up first, adopt a match, never resend a write whose outcome is unknown before reads show it
  did not land — :mod:`components.railway.exactly_once`). No provider sends a create mutation any other
  way: the client refuses one outside ``write_once`` at run time (``exactly_once.admit``).
* **Origin**: every resource records in its ``origin`` output how its object came to be: ``created``
  (by us, including by an interrupted run of ours) or ``adopted`` (it existed before and is not ours).
  ``delete`` of an adopted object does nothing: the stack never deletes what it did not create.
* **One declaration per kind**: the typed resource class beside each provider lists its fields once
  (:mod:`.schema`); the provider's input, replace, required and diff keys, its output placeholders and its
  secret outputs are installed from it (:meth:`RailwayProvider._install`).
* **Adoption is a method**: :meth:`RailwayProvider.adopt` finds the object (a pinned id, else the kind's
  one finder, :meth:`RailwayProvider.candidates`) and reads what runs; ``create`` calls it instead of
  writing inside ``ops adopt``'s recording run (:mod:`.adoption`), and ``ops adopt`` calls it for its table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from components.railway import errors
from components.railway.client import ClientSettings, RailwayClient
from components.railway.exactly_once import ADOPTED, CREATED, Outcome, write_once
from components.railway.providers.adoption import (
    Adopted,
    AmbiguousAdoption,
    Extra,
    NothingToAdopt,
    Runs,
    pinned_ids,
    recording,
)
from components.railway.providers.schema import STATE_MODULE, Field
from config.model import RailwaySettings

if TYPE_CHECKING:
    from components.railway.providers.schema import RailwayResource

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
TERMINAL_FAILURES = frozenset({"FAILED", "CRASHED", "REMOVED", "SKIPPED"})
IN_FLIGHT = frozenset({"QUEUED", "WAITING", "INITIALIZING", "BUILDING", "DEPLOYING"})

_clients: dict[tuple[str, str, str], RailwayClient] = {}
_clients_lock = threading.Lock()
T = TypeVar("T")
log = logging.getLogger(__name__)


class _OneLineErrors:
    """Stands in for the ``traceback`` module inside Pulumi's dynamic-provider server.

    The server answers every exception with ``traceback.format_exc()``, so a failed deployment or a
    refused input would reach the user as a Python traceback. Our own errors (:class:`errors.RailwayError`)
    are expected and say what to do: they are reported as their one line. Anything else keeps its full
    traceback — that is a bug to investigate.
    """

    def __init__(self, real: Any) -> None:
        self._real = real

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, errors.RailwayError):
            return str(error)
        return str(self._real.format_exc(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def one_line_errors_in_provider_server(server: Any = None) -> bool:
    """Install :class:`_OneLineErrors` when running inside ``python -m pulumi.dynamic`` (idempotent)."""
    server = server if server is not None else sys.modules.get("__main__")
    real = getattr(server, "traceback", None)
    if not hasattr(server, "_abort_with_traceback") or real is None:
        return False
    if not isinstance(real, _OneLineErrors):
        server.traceback = _OneLineErrors(real)
    return True


one_line_errors_in_provider_server()


def is_unknown(value: Any) -> bool:
    """True when a preview value (or anything nested in it) is not known yet.

    The dynamic-provider server hands unknowns over as ``pulumi.output.Unknown`` instances; older SDKs
    used the ``rpc.UNKNOWN`` sentinel string, so both are recognised.
    """
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


def settings_from_config(raw: Any) -> ClientSettings:
    """The client settings of a stack's raw ``maya-infra:railway`` value, validated by the config model.

    The same :class:`config.model.RailwaySettings` the program validates, and the same
    :meth:`ClientSettings.of`: no default lives anywhere else.
    """
    tuning: dict[str, Any] = json.loads(raw) if isinstance(raw, str) and raw else dict(raw or {})
    return ClientSettings.of(RailwaySettings.model_validate_json(json.dumps(tuning)))


def client_from_config(config: Any) -> RailwayClient:
    """One shared client per (endpoint, token, settings) per provider process."""
    token = config.get("railwayToken") or os.environ.get("RAILWAY_API_TOKEN") or ""
    settings = settings_from_config(config.get("railway"))
    key = (settings.endpoint, hashlib.sha256(token.encode()).hexdigest(), repr(settings))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = RailwayClient(token, settings)
        return client


def revision_of(values: Mapping[str, Any]) -> str:
    """A fingerprint of one write: what was written, and when.

    The ``Deployment`` resource deploys when a revision changes. Writes only happen when ``diff`` found a
    change (or drift was reverted), so stamping the time makes every write — including one that restores
    drifted values to what they were — lead to exactly one deploy, and a no-op ``up`` to none.
    """
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"{digest}@{time.time_ns()}"


class RailwayProvider(ResourceProvider):
    """Shared machinery; subclasses implement the Railway calls, their kind (:mod:`.schema`) declares the rest."""

    __module__ = STATE_MODULE

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("components.railway.providers."):
            cls.__module__ = STATE_MODULE

    @classmethod
    def _install(cls, declaration: type[RailwayResource]) -> None:
        """Take the schema from the kind's declaration (called once, when the kind's class is created)."""
        fields = declaration.fields
        cls.kind = declaration.__name__
        cls.fields = fields
        cls.adopt_key = declaration.adopt_key
        cls.not_adoptable = declaration.not_adoptable
        cls.input_keys = tuple(f.name for f in fields if not f.output)
        cls.diff_keys = tuple(f.name for f in fields if not f.output and f.compare)
        cls.replace_keys = frozenset(f.name for f in fields if f.replace)
        cls.required_keys = tuple(f.name for f in fields if f.required)
        cls.output_keys = tuple(f.name for f in fields if f.output)
        cls.secret_outputs = tuple(f.name for f in fields if f.secret)

    @classmethod
    def props(cls, **inputs: Any) -> dict[str, Any]:
        """The props of this provider's ``pulumi.dynamic.Resource``: every input as given (secret ones
        wrapped as Pulumi secrets) and every output as a ``None`` placeholder. Refuses unknown or missing
        names, so a resource cannot drift from its kind's declaration."""
        unknown = set(inputs) - set(cls.input_keys)
        missing = set(cls.input_keys) - set(inputs)
        if unknown or missing:
            raise TypeError(f"{cls.kind}: unknown inputs {sorted(unknown)}, missing inputs {sorted(missing)}")
        secret = set(cls.secret_outputs)
        props: dict[str, Any] = {
            k: pulumi.Output.secret(v) if k in secret and v is not None else v for k, v in inputs.items()
        }
        props.update(dict.fromkeys(cls.output_keys))
        return props

    kind: ClassVar[str] = "Resource"
    #: The kind's one declaration, installed by ``_install``; everything below derives from it.
    fields: ClassVar[tuple[Field, ...]] = ()
    adopt_key: ClassVar[str | None] = None
    not_adoptable: ClassVar[str] = ""
    input_keys: ClassVar[tuple[str, ...]] = ()
    diff_keys: ClassVar[tuple[str, ...]] = ()
    replace_keys: ClassVar[frozenset[str]] = frozenset()
    required_keys: ClassVar[tuple[str, ...]] = ()
    output_keys: ClassVar[tuple[str, ...]] = ()
    secret_outputs: ClassVar[tuple[str, ...]] = ()

    _client: RailwayClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}  # no client, lock or token ever goes into __provider

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def configure(self, req: ConfigureRequest) -> None:
        self._client = client_from_config(req.config)

    def use_client(self, client: RailwayClient) -> None:
        """Inject a client (tests, and the ops commands that reuse these providers)."""
        self._client = client

    @property
    def client(self) -> RailwayClient:
        if self._client is None:
            raise errors.NotAuthorizedError(self.kind, "the provider was not configured with a Railway token")
        return self._client

    # ---- checks ------------------------------------------------------------------------------------
    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        """Extra checks of known values; subclasses extend."""
        return []

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, f"{self.kind}: {key} is required")
            for key in self.required_keys
            if news.get(key) in (None, "")
        ]
        failures += self.validate(news)
        return CheckResult(news, failures)

    # ---- diff ----------------------------------------------------------------------------------------
    def as_written(self, olds: Mapping[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """The declared inputs as this object would be written, given its recorded state (what diff compares)."""
        return news

    def changed_keys(self, olds: Mapping[str, Any], news: dict[str, Any]) -> list[str]:
        """The declared keys whose value differs from the recorded one (``diff``, and ``ops adopt``'s table)."""
        news = self.as_written(olds, news)
        return [k for k in self.diff_keys if olds.get(k) != news.get(k)]

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = self.changed_keys(olds, news)
        if not changed:
            return DiffResult(changes=False, replaces=[], delete_before_replace=False)
        replaces = [k for k in changed if k in self.replace_keys]
        return DiffResult(changes=True, replaces=replaces, delete_before_replace=self.delete_before_replace)

    delete_before_replace: ClassVar[bool] = False

    # ---- lifecycle -------------------------------------------------------------------------------------
    def inputs_of(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props.get(k) for k in self.input_keys}

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self.inputs_of(props)
        if recording():  # ops adopt's recording run: what runs, no mutation (.adoption)
            id_, computed = self.record(inputs)
        else:
            id_, computed = self._create(inputs)
        computed.setdefault("origin", CREATED)
        return CreateResult(id_, {**inputs, **computed})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self.inputs_of(news)
        computed = self._update(id_, {k: v for k, v in olds.items() if not k.startswith("__")}, inputs)
        return UpdateResult({**{k: v for k, v in olds.items() if not k.startswith("__")}, **inputs, **computed})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        if props.get("origin") == ADOPTED:
            log.info("%s %s was adopted, not created by this stack: left in place", self.kind, id_)
            return  # the stack never deletes what it did not create
        with contextlib.suppress(errors.NotFoundError):  # already gone: the goal of a delete is reached
            self._delete(id_, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        state = {k: v for k, v in props.items() if not k.startswith("__")}
        try:
            outs = self._read(id_, state)
        except errors.NotFoundError:
            return ReadResult("", {})  # gone behind our back: drop from state, the next up recreates it
        if outs is None:
            return ReadResult("", {})
        # Railway answers "" where nothing is set; that is the same as our None, not drift.
        outs = {k: state.get(k) if v in (None, "") and state.get(k) in (None, "") else v for k, v in outs.items()}
        merged = {**state, **outs}
        return ReadResult(id_, merged, inputs=self.inputs_of(merged))

    # ---- what subclasses implement -----------------------------------------------------------------------
    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise TypeError(f"{type(self).__name__} must implement _create")

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        raise TypeError(f"{type(self).__name__} must implement _update")

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        raise TypeError(f"{type(self).__name__} must implement _delete")

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        raise TypeError(f"{type(self).__name__} must implement _read")

    # ---- adoption: one finder per kind, and what runs -------------------------------------------------------
    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """The kind's one finder: the running objects this declaration could be, each a node with its ``id``.

        Without ``runs`` it looks by the natural key (what ``create`` looks for before sending anything);
        with ``runs`` (adoption) a kind may also recognise the object by what it runs. Subclasses implement."""
        raise TypeError(f"{type(self).__name__} must implement candidates")

    def find(self, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        """The object the natural key names, or None (``create``'s look-first)."""
        return next(iter(self.candidates(inputs)), None)

    def adopt(
        self, inputs: Mapping[str, Any], *, pinned: str | None = None, runs: Runs | None = None
    ) -> Adopted | None:
        """Find the running object (``pinned`` id first, else the finder) and read what runs: every setting
        the kind converges, and its computed outputs. Sends no mutation; None when nothing is found; two
        candidates are refused (:class:`AmbiguousAdoption`)."""
        if self.not_adoptable:
            return None
        node: dict[str, Any] | None = None
        if pinned:
            id_ = pinned
        else:
            found = self.candidates(inputs, runs)
            if not found:
                return None
            if len(found) > 1:
                raise AmbiguousAdoption(self.kind, self.adopt_key, [(self.label(n), str(n["id"])) for n in found])
            node = found[0]
            id_ = str(node["id"])
        running = self._running(id_, inputs, node)
        if running is None:
            return None
        outputs = {**running, "origin": ADOPTED}
        return Adopted(id_, outputs, self.label(node or {"id": id_, **running}), self.extras(id_, inputs, node))

    def record(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The recording run's create: ``adopt`` with the id ``ops adopt`` pinned, or a clear refusal."""
        adopted = self.adopt(inputs, pinned=pinned_ids().get(self.adopt_key or ""))
        if adopted is None:
            raise NothingToAdopt(
                self.kind,
                self.not_adoptable or "it is not on Railway any more; run `python -m ops adopt` again",
            )
        return adopted.id, adopted.outputs

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """What runs, as the resource's outputs (its refresh read); ``node`` is what the finder returned."""
        try:
            return self._read(id_, inputs)
        except errors.NotFoundError:
            return None

    def what_up_does(self, key: str, running: Any, declared: Any) -> str:
        """What the next ``up`` does about one differing setting (``ops adopt``'s table says it)."""
        return "replaces the object" if key in self.replace_keys else "updates it in place"

    def label(self, node: Mapping[str, Any]) -> str:
        """How ``ops adopt``'s table names a found object."""
        return str(node.get("name") or node.get("domain") or node.get("id") or "")

    def extras(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> list[Extra]:
        """What runs beside the adopted object and is not declared (kept, never touched)."""
        return []

    def create_exactly_once(
        self,
        key: str,
        *,
        find: Callable[[], T | None],
        send: Callable[[], T],
        discard: Callable[[T], None] | None = None,
        settle_seconds: float | None = None,
        look_first: bool = True,
    ) -> Outcome[T]:
        """The one way a provider creates anything: look ``key`` up first, adopt a match, and never send
        again a create whose outcome is unknown before reads show it did not land
        (:func:`components.railway.exactly_once.write_once`). ``key`` names the natural key in messages."""
        return write_once(
            self.client,
            f"{self.kind} {key}",
            find=find,
            send=send,
            discard=discard,
            settle_seconds=settle_seconds,
            look_first=look_first,
        )


def service_scope(props: Mapping[str, Any]) -> dict[str, Any]:
    """``projectId``, ``environmentId`` and ``serviceId`` from a resource's inputs or state: the service
    instance that most of Railway's service-level queries and mutation inputs are addressed by."""
    return {
        "projectId": props["project_id"],
        "environmentId": props["environment_id"],
        "serviceId": props["service_id"],
    }


def edges(connection: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [edge["node"] for edge in (connection or {}).get("edges", [])]
