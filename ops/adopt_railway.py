"""``ops adopt`` on Railway: the backend's declaration walked against what runs, by the providers themselves.

For each resource of :func:`components.railway.plan.backend_plan` — the list the component declares — the
kind's provider ``adopt``s it (a pinned ``--id``, else its finder: by name, or by what it runs — the
backend's repository and root directory in the environment, Postgres by its data volume, domains by host)
and reads what runs, sending no mutation. The provider's own ``check`` and ``diff`` then compare what runs
with what the stack declares, exactly as the next ``pulumi preview`` will after the recording run, so:

* **matches** — the preview shows no update, create, delete or replace for it;
* **differs** — each difference with what runs, what is declared and what ``up`` will do; a name that
  differs is kept: ``--yes`` records the running name in the stack file (nothing is renamed by surprise);
* **extra** — runs beside it and is not declared: kept, never touched (variables by name only);
* **missing** — the next ``up`` creates it.

Two running objects that fit one declaration are refused, listing both and the ``--id`` that picks one.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pulumi.output import Unknown

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.plan import Join, Planned, Ref, backend_plan, root_directory, source_repository
from components.railway.providers.adoption import Adopted, AmbiguousAdoption, Runs
from components.railway.providers.base import RailwayProvider, is_unknown
from components.railway.providers.schema import KINDS, defaults
from components.railway.providers.variables import scope_of
from config import NAMESPACE, StackConfig, envvars
from config.envvars import Target
from ops.adopt_table import DIFFERS, EXTRA, MATCHES, MISSING, Discovery
from ops.context import OpsError

RAILWAY_TYPE = "pulumi-python:dynamic/railway:"


def adopt_keys() -> tuple[str, ...]:
    """The kinds ``--id KEY=ID`` may pin, from the kinds' declarations."""
    return tuple(k.adopt_key for k in KINDS.values() if k.adopt_key)


def stack_secrets(project_dir: Path, stack: str, env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The stack's secret values (to compare declared variable values with running ones), and why not, if not.

    One ``pulumi config --show-secrets`` — the same passphrase the recording ``pulumi up`` needs anyway.
    Values stay in memory: the table never prints a value.
    """
    try:
        result = subprocess.run(
            ["pulumi", "config", "--show-secrets", "--json", "--stack", stack],
            cwd=project_dir,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {}, f"`pulumi config` could not run ({type(exc).__name__})"
    if result.returncode != 0:
        return {}, f"`pulumi config --show-secrets` failed: {result.stderr.strip()[:200]}"
    document = json.loads(result.stdout or "{}")
    prefix = f"{NAMESPACE}:"
    values = {
        k.removeprefix(prefix): str(v.get("value"))
        for k, v in document.items()
        if k.startswith(prefix) and isinstance(v, dict) and v.get("secret") and v.get("value") is not None
    }
    return values, ""


def declared_values(cfg: StackConfig, secrets: Mapping[str, str]) -> dict[str, Any]:
    """The backend's declared variable values as the table resolves them (``config.envvars``), in plain
    values; a secret this command cannot read is unknown (its value is not compared). Values the backend
    produces itself (the database URL) come from the plan (``components/railway/plan.py``)."""
    values: dict[str, Any] = {}
    for var in envvars.for_target(cfg, Target.BACKEND):
        source = var.source
        if isinstance(source, envvars.ConfigSecret):
            values[var.name] = secrets[source.key] if source.key in secrets else Unknown()
        elif isinstance(source, envvars.Setting):
            values[var.name] = source.pick(cfg)
        else:
            values[var.name] = Unknown()
    return values


@dataclass
class _Found:
    """What one planned resource is on Railway: its id and running state, and whether ``up`` changes it."""

    id: str
    state: dict[str, Any]
    changes: bool
    replaces: bool


def _resolve(value: Any, found: Mapping[str, _Found | None], *, after_up: bool) -> Any:
    """A planned input with its references replaced by the found objects' values: as the recording run
    records them, or (``after_up``) as the next ``up`` will see them — unknown where ``up`` changes them."""
    if isinstance(value, Ref):
        target = found.get(value.suffix)
        if target is None:
            raise LookupError(value.suffix)
        if value.attr == "id":
            return Unknown() if after_up and target.replaces else target.id
        return Unknown() if after_up and target.changes else target.state.get(value.attr)
    if isinstance(value, Join):
        parts = [_resolve(p, found, after_up=after_up) for p in value.parts]
        return Unknown() if any(is_unknown(p) for p in parts) else value.sep.join(str(p) for p in parts)
    if isinstance(value, Mapping):
        return {k: _resolve(v, found, after_up=after_up) for k, v in value.items()}
    return value


def _shown(value: Any) -> str:
    return "(computed)" if is_unknown(value) else repr(value)


def _differences(
    provider: RailwayProvider, state: Mapping[str, Any], declared: Mapping[str, Any], changed: list[str]
) -> list[str]:
    """Each changed key with what runs and what is declared; secret maps by name only, never a value."""
    out = []
    for key in changed:
        field = next(f for f in provider.fields if f.name == key)
        running, wanted = state.get(key), declared.get(key)
        if field.secret and isinstance(wanted, Mapping):
            running = running if isinstance(running, Mapping) else {}
            absent = sorted(set(wanted) - set(running))
            unread = sorted(k for k, v in wanted.items() if k in running and is_unknown(v))
            differ = sorted(k for k, v in wanted.items() if k in running and not is_unknown(v) and running[k] != v)
            parts = [f"not set yet: {', '.join(absent)}"] if absent else []
            parts += [f"values differ: {', '.join(differ)}"] if differ else []
            parts += [f"values not compared (secrets unreadable): {', '.join(unread)}"] if unread else []
            out.append(f"{key}: " + "; ".join(parts) + " (up upserts these names, one by one)")
        elif field.local:
            out.append(f"{key}: will change (what it depends on changes)")
        else:
            action = provider.what_up_does(key, running, wanted)
            out.append(f"{key}: runs {_shown(running)}, config {_shown(wanted)} (up {action})")
    return out


def _row_kind(kind: str, adopt_key: str | None) -> str:
    return adopt_key or kind[0].lower() + kind[1:]


def discover_railway(
    client: RailwayClient,
    cfg: StackConfig,
    given: Mapping[str, str],
    d: Discovery,
    values: Mapping[str, Any] | None = None,
    external_database_url: Any = None,
) -> None:
    """Railway objects of the stack, reads only (one or two requests per object); see the module doc.

    ``values``: the declared backend variable values (default: settings known, secrets not compared).
    """
    known = declared_values(cfg, {}) if values is None else values
    external = (external_database_url or Unknown()) if cfg.backend.database == "external" else None
    plan = backend_plan(cfg, lambda var: known.get(var.name, Unknown()), external_database_url=external)
    runs = Runs(source_repository(cfg), root_directory(cfg), cfg.environment)
    found: dict[str, _Found | None] = {}
    adopted_ids: set[str] = set()
    extras = []
    for item in plan:
        provider: RailwayProvider = item.kind.provider_class()
        provider.use_client(client)
        row_kind = _row_kind(item.kind.__name__, item.kind.adopt_key)
        declared = {**defaults(item.kind), **item.inputs}  # as the constructor fills them
        try:
            recorded = {k: _resolve(v, found, after_up=False) for k, v in declared.items()}
            inputs = {k: _resolve(v, found, after_up=True) for k, v in declared.items()}
        except LookupError as missing:
            found[item.suffix] = None
            d.add("railway", row_kind, item.suffix, "-", MISSING, f"up creates it (with its {missing.args[0]})")
            continue
        if item.kind.not_adoptable:
            found[item.suffix] = None
            d.add("railway", row_kind, str(inputs.get("name") or item.suffix), "-", MISSING, item.kind.not_adoptable)
            continue
        pinned = given.get(item.kind.adopt_key or "")
        try:
            adopted = provider.adopt(recorded, pinned=pinned, runs=runs)
        except AmbiguousAdoption as exc:
            raise OpsError(f"Railway {row_kind}: {exc.detail}") from None
        except errors.NotFoundError:
            adopted = None
        if adopted is None and pinned:
            raise OpsError(
                f"--id {item.kind.adopt_key}={pinned}: Railway has no {row_kind} {pinned} this token can see"
            )
        if adopted is None:
            found[item.suffix] = None
            d.add("railway", row_kind, item.suffix, "-", MISSING, "up creates it")
            continue
        if item.suffix == "environment":
            runs = replace(runs, environment_id=adopted.id)
        adopted_ids.add(adopted.id)
        extras += adopted.extras
        found[item.suffix] = _verdict(d, item, provider, recorded, inputs, adopted, row_kind)
        if item.kind.__name__ == "Variables":
            scope = scope_of(recorded)
            d.undeclared += [(scope, e.label) for e in adopted.extras if e.kind == "variable"]
    for extra in extras:
        if extra.id not in adopted_ids:
            d.add("railway", extra.kind, extra.label, extra.id, EXTRA, extra.detail)


def _verdict(
    d: Discovery,
    item: Planned,
    provider: RailwayProvider,
    recorded: dict[str, Any],
    inputs: dict[str, Any],
    adopted: Adopted,
    row_kind: str,
) -> _Found:
    """Compare what runs with the declaration the way the next preview will, after ``--yes`` recorded the
    running names; add the row; and remember the object for the references of the resources after it.

    ``recorded``: the inputs as the recording run resolves them (the state it writes); ``inputs``: as the
    next preview resolves them."""
    id_, running, label = adopted.id, adopted.outputs, adopted.label
    notes = []
    for key, setting in item.names.items():
        if running.get(key) not in (None, inputs.get(key)):
            notes.append(
                f"name: runs {running[key]!r}, config {inputs.get(key)!r} (kept: --yes records "
                f"{setting}: {running[key]}, up renames nothing)"
            )
            d.names[setting] = str(running[key])
            inputs = {**inputs, key: running[key]}
            recorded = {**recorded, key: running[key]}
    checked = provider.check({}, inputs).inputs
    stored = provider.check({}, recorded).inputs
    state = {**{k: stored.get(k) for k in provider.input_keys}, **running}
    diff = provider.diff(id_, state, checked)
    changed = provider.changed_keys(state, checked)
    if diff.changes and not changed:
        changed_text = ["status: the service is down (up deploys it)"]
    else:
        changed_text = _differences(provider, state, provider.as_written(state, checked), changed)
    detail = "; ".join(notes + changed_text)
    d.railway_found.append((item.kind.__name__, f"backend-{item.suffix}"))
    if item.kind.adopt_key:
        d.railway_ids[item.kind.adopt_key] = id_
    d.add("railway", row_kind, label, id_, DIFFERS if detail else MATCHES, detail)
    return _Found(id_, state, bool(diff.changes), bool(diff.replaces))


def remove_undeclared(client: RailwayClient, d: Discovery) -> list[str]:
    """Delete the running variables the stack does not declare (``--remove-undeclared-variables``), once
    each; "not found" means already gone. Returns the names removed."""
    removed = []
    for scope, name in d.undeclared:
        with contextlib.suppress(errors.NotFoundError):  # already gone: the goal is reached
            client.execute(gql.VARIABLE_DELETE, {"input": {**scope, "name": name}})
        removed.append(name)
    return removed
