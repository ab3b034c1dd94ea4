"""Each Railway kind declared once: a typed resource class whose body lists its fields.

A kind is one class, e.g. ::

    class Service(RailwayResource, provider=ServiceProvider, adopt_key="service"):
        project_id: pulumi.Input[str] = parent()
        name: pulumi.Input[str] = setting(required=True)

and everything else derives from that body, at import:

* the **typed constructor** ``Service("backend-service", project_id=..., name=..., opts=...)``: editors and
  type checkers synthesize it from the annotated fields (:func:`typing.dataclass_transform`, PEP 681), and
  at run time :meth:`RailwayResource.__init__` checks the names, fills the defaults and registers the
  resource with its props, output placeholders and secret outputs;
* the **type token** ``pulumi-python:dynamic/railway:<ClassName>``;
* the **provider's schema** (input, replace, required, diff and output keys, secret outputs), installed
  on the provider class named ``<ClassName>Provider`` (``RailwayProvider._install``);
* the **pickling address** ``components.railway.provider.<ClassName>Provider`` every state references
  (the provider class reports that module; :mod:`components.railway.provider` exposes every registered
  provider there);
* **adoption's registry**: the key of ``maya-infra:adopt.railway`` that may pin the kind's id
  (``adopt_key``), whether the kind can be adopted at all (``not_adoptable``), and which settings adoption
  reads (every setting that is neither ``local`` nor ``write_only``).

The provider class beside it holds what cannot be declared: the Railway calls, the natural key and its
finder (``candidates``), and the documents it sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, dataclass_transform

import pulumi
from pulumi.dynamic import Resource


class _Missing:
    """No default: the constructor requires the field."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Field:
    """One field of a Railway kind.

    ``replace``: changing it makes a new object (only truly immutable keys). ``required``: ``check``
    refuses an empty value. ``secret``: a Pulumi secret (inputs are wrapped, outputs listed as secret
    outputs). ``output``: computed by the provider, not an input (a ``None`` placeholder in the props, so
    the resource has the attribute). ``local``: maya-infra's own knob (a timeout, a poll interval, a
    fingerprint), not a Railway setting: adoption neither reads nor compares it. ``write_only``: why
    Railway cannot read this setting back (adoption keeps the declared value). ``compare``: False for an
    input kept only so that old states keep their keys; ``diff`` never looks at it. ``parent``: the id of
    what the object lives in (its project, environment, service): the finder looks there, so an adopted
    object is where it was looked for.
    """

    name: str
    replace: bool = False
    required: bool = False
    secret: bool = False
    output: bool = False
    default: Any = MISSING
    local: bool = False
    write_only: str = ""
    compare: bool = True
    parent: bool = False

    @property
    def converged(self) -> bool:
        """A Railway setting ``up`` writes: adoption must read it (or say why it cannot)."""
        return not self.output and not self.local and self.compare and not self.parent


@dataclass(frozen=True)
class _Spec:
    """What a field specifier leaves in a class body until ``__init_subclass__`` collects it."""

    field: Field


@dataclass(frozen=True)
class _Argument:
    """The constructor's own arguments (``resource_name``, ``opts``): not fields of the kind."""


def setting(
    *,
    default: Any = MISSING,
    replace: bool = False,
    required: bool = False,
    secret: bool = False,
    local: bool = False,
    write_only: str = "",
    compare: bool = True,
) -> Any:
    """An input of the kind (see :class:`Field`); without ``default`` the constructor requires it."""
    return _Spec(Field("", replace, required, secret, False, default, local, write_only, compare))


def parent(*, default: Any = MISSING) -> Any:
    """The id of what the object lives in (see :class:`Field`): replacing it makes a new object."""
    return _Spec(Field("", replace=True, required=default is MISSING, default=default, parent=True))


def output(*, secret: bool = False, init: Literal[False] = False) -> Any:
    """A value the provider computes (not a constructor argument)."""
    return _Spec(Field("", secret=secret, output=True))


def argument(*, default: Any = MISSING, kw_only: bool = True) -> Any:
    """The constructor's ``resource_name`` and ``opts`` (declared once, on :class:`RailwayResource`)."""
    return _Argument()


#: Every declared kind by name, in declaration order: the registry everything else derives from.
KINDS: dict[str, type[RailwayResource]] = {}
#: Where every state finds the provider classes (see the module doc and ``components/railway/provider.py``).
STATE_MODULE = "components.railway.provider"


@dataclass_transform(kw_only_default=True, field_specifiers=(setting, parent, output, argument))
class _Declared(Resource):
    """The run-time half of a declaration: collects the fields of the class body (see the module doc)."""

    fields: ClassVar[tuple[Field, ...]] = ()
    #: The kind's ``RailwayProvider`` subclass (typed loosely: this ground floor of the providers imports none).
    provider_class: ClassVar[Any]
    #: The key of ``maya-infra:adopt.railway`` that pins this kind's id (``ops adopt --id KEY=ID``); None when
    #: the id follows from its parents' (settings, variables, deployment ...).
    adopt_key: ClassVar[str | None] = None
    #: Why the kind cannot be adopted ("" when it can): the next ``up`` creates it beside what runs.
    not_adoptable: ClassVar[str] = ""

    def __init_subclass__(
        cls,
        *,
        provider: Any = None,
        adopt_key: str | None = None,
        not_adoptable: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(module="railway", name=cls.__name__, **kwargs)
        own: list[Field] = []
        for name, value in list(vars(cls).items()):
            if isinstance(value, _Spec):
                own.append(replace(value.field, name=name))
                delattr(cls, name)  # the instance gets the Output attribute when the resource registers
            elif isinstance(value, _Argument):
                delattr(cls, name)
        fields = [f for f in cls.fields if f.name not in {o.name for o in own}] + own
        if len({f.name for f in fields}) != len(fields):
            raise TypeError(f"{cls.__name__}: a field is declared twice")
        cls.fields = tuple(fields)
        if provider is None:
            return
        if provider.__name__ != f"{cls.__name__}Provider":
            raise TypeError(f"{cls.__name__}: its provider must be named {cls.__name__}Provider (the state's address)")
        if cls.__name__ in KINDS:
            raise TypeError(f"the Railway kind {cls.__name__} is declared twice")
        cls.provider_class = provider
        cls.adopt_key = adopt_key
        cls.not_adoptable = not_adoptable
        provider._install(cls)
        KINDS[cls.__name__] = cls  # type: ignore[assignment]

    def __init__(self, resource_name: str, /, *, opts: pulumi.ResourceOptions | None = None, **given: Any) -> None:
        cls = type(self)
        inputs = {f.name: given.pop(f.name, f.default) for f in cls.fields if not f.output}
        missing = sorted(k for k, v in inputs.items() if v is MISSING)
        if given or missing:
            raise TypeError(f"{cls.__name__}: unknown inputs {sorted(given)}, missing inputs {missing}")
        provider = cls.provider_class
        secret_outputs = list(provider.secret_outputs)
        base = pulumi.ResourceOptions(additional_secret_outputs=secret_outputs) if secret_outputs else None
        merged = pulumi.ResourceOptions.merge(base, opts) if base else (opts or pulumi.ResourceOptions())
        Resource.__init__(self, provider(), resource_name, provider.props(**inputs), merged)


class RailwayResource(_Declared):
    """The base of every Railway kind: its constructor's arguments, and the one output every kind has."""

    resource_name: str = argument(kw_only=False)
    opts: pulumi.ResourceOptions | None = argument(default=None)
    #: How the object came to be: "created" (by this stack) or "adopted" (it existed; never deleted).
    origin: pulumi.Output[str] = output()


def defaults(kind: type[RailwayResource]) -> Mapping[str, Any]:
    """The declared defaults of a kind's inputs (those that have one)."""
    return {f.name: f.default for f in kind.fields if not f.output and f.default is not MISSING}
