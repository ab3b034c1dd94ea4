"""Shared building blocks of the generated workflows: YAML output, the header, steps every job uses.

Workflows are built as plain dicts and written by :func:`dump`, which is deterministic: keys keep the
order they were built in (GitHub reads jobs in that order, and reviewers do too), multi-line strings are
written as literal blocks, ``on`` stays quoted (PyYAML would otherwise read it back as ``True``), lines
are never folded, and every ``uses:`` line gets its ``# <version>`` comment from :mod:`workflows.pins`.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import yaml

from config import envvars
from config.envvars import Target
from workflows import pins

Job = dict[str, Any]
Step = dict[str, Any]

RUNNER = "ubuntu-24.04"  # a fixed image, not ubuntu-latest, so a runner upgrade is a reviewed change


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents sequences under their key and never emits aliases."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


class Commented(str):
    """A one-line scalar written with a trailing comment (used for zizmor's inline ignores)."""

    comment: str

    def __new__(cls, value: str, comment: str) -> Commented:
        if "\n" in value:
            raise ValueError("only one-line scalars can carry a trailing comment")
        self = super().__new__(cls, value)
        self.comment = comment
        return self


_Dumper.add_representer(Commented, _represent_str)


def because(value: str, reason: str) -> Commented:
    """``value`` with a comment saying why (zizmor asks for one on every write permission)."""
    return Commented(value, reason)


def zizmor_ignore(value: str, audit: str, reason: str) -> Commented:
    """``value`` with zizmor's inline ignore for ``audit``; the reason is mandatory and reviewed."""
    if not reason.strip():
        raise ValueError("an ignored zizmor finding must say why")
    return Commented(value, f"zizmor: ignore[{audit}] {reason}")


_USES_RE = re.compile(r"^(?P<lead>\s*(?:- )?uses: )(?P<ref>[^\s#]+@[0-9a-f]{40})$")
_TOP_OR_JOB_KEY_RE = re.compile(r"^(?:[A-Za-z'\"]|  [A-Za-z0-9_-]+:$)")


def dump(document: Mapping[str, Any], header: Sequence[str]) -> str:
    """The YAML text of a workflow, starting with ``header`` as comment lines."""
    for line in _walk_strings(document):
        if any(part != part.rstrip() for part in line.split("\n")):
            raise ValueError(f"trailing whitespace would force a quoted scalar: {line!r}")
    pending = list(_commented_pairs(document))
    body = yaml.dump(
        dict(document),
        Dumper=_Dumper,
        sort_keys=False,
        width=10**6,
        allow_unicode=True,
        default_flow_style=False,
        indent=2,
    )
    lines: list[str] = [f"# {text}".rstrip() for text in header]
    in_jobs = False
    for index, line in enumerate(body.splitlines()):
        match = _USES_RE.match(line)
        if match:
            line = f"{line} # {pins.version_of(match.group('ref'))}"
        if pending and line.strip().removeprefix("- ") == pending[0][0]:
            line = f"{line} # {pending.pop(0)[1]}"
        if index and _TOP_OR_JOB_KEY_RE.match(line) and (not line.startswith(" ") or in_jobs):
            lines.append("")  # a blank line before each top-level key and each job, for reading
        if line and not line.startswith(" "):
            in_jobs = line == "jobs:"
        if lines and lines[-1] == "" and lines[-2:-1] == ["jobs:"]:
            lines.pop()  # no blank line between `jobs:` and its first job
        lines.append(line)
    if pending:
        raise ValueError(f"comments that found no line to sit on: {pending}")
    return "\n".join(lines) + "\n"


def _commented_pairs(value: Any) -> Iterable[tuple[str, str]]:
    """(``key: value`` line, comment) of every :class:`Commented` mapping value, in the order YAML writes them."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Commented):
                probe = yaml.dump({key: str(item)}, Dumper=_Dumper, width=10**6).strip()
                yield probe, item.comment
            else:
                yield from _commented_pairs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _commented_pairs(item)


def _walk_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk_strings(key)
            yield from _walk_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _walk_strings(item)


def header(title: str, source: str, notes: Sequence[str] = ()) -> list[str]:
    """The comment that opens every generated file: what it is, where it comes from, not to edit it."""
    lines = [
        f"{title}",
        "",
        "GENERATED by maya-infra: do not edit this file by hand, the next render overwrites it.",
        f"Source: {source}",
        "Review changes as diffs of maya-infra's golden files (tests/workflows/golden/); see docs/workflows.md.",
    ]
    if notes:
        lines.append("")
        lines.extend(notes)
    return lines


def script(text: str) -> str:
    """A ``run:`` body: dedented, stripped, ending in one newline (so YAML writes ``|``, not ``|-``)."""
    return textwrap.dedent(text).strip("\n") + "\n"


def bundled_script(name: str) -> str:
    """The source of a stdlib-only script of :mod:`workflows.scripts`, to inline into a ``run:`` step."""
    return resources.files("workflows.scripts").joinpath(name).read_text(encoding="utf-8")


def expr(inner: str) -> str:
    """A GitHub expression; only ever used in ``env:``, ``if:``, ``with:`` and job keys, never in ``run:``."""
    return "${{ " + inner + " }}"


# --- the CI variables of components/envvars.TABLE ---------------------------------------------------


def ci_names(target: Target, *, optional: bool = True) -> tuple[str, ...]:
    """Every variable the table gives ``target``, in table order, whether or not one stack sets it;
    ``optional=False`` leaves out those a stack has only with an optional feature (e.g. the error tracker)."""
    names = [
        var.name
        for var in envvars.TABLE
        if target in var.targets
        and (optional or (var.only_if is None and var.required_in == {"staging", "production"}))
    ]
    return tuple(names)


def ci_value(name: str, target: Target) -> str:
    """``${{ secrets.NAME }}`` or ``${{ vars.NAME }}``, as the table declares the variable for ``target``.

    The values live in the GitHub environment named like the stack's environment, so only jobs that
    declare ``environment:`` can read them.
    """
    for var in envvars.TABLE:
        if var.name == name and target in var.targets:
            return expr(f"{'secrets' if var.secret else 'vars'}.{name}")
    raise KeyError(f"{name} is not a {target.value} variable of components/envvars.TABLE")


def ci_env(target: Target, *names: str) -> dict[str, str]:
    """An ``env:`` block passing the named CI variables of ``target`` to one step."""
    return {name: ci_value(name, target) for name in names}


# --- steps and jobs ------------------------------------------------------------------------------


def checkout(*, fetch_depth: int | None = None, ref: str | None = None) -> Step:
    """actions/checkout that leaves no token behind in .git/config (zizmor: artipacked)."""
    with_: dict[str, Any] = {"persist-credentials": False}
    if fetch_depth is not None:
        with_["fetch-depth"] = fetch_depth
    if ref is not None:
        with_["ref"] = ref
    return {"name": "Check out the repository", "uses": pins.uses("actions/checkout"), "with": with_}


def setup_node(node_version: str, lock_file: str | None) -> Step:
    """Node with npm's cache keyed on the lock file, or with no cache at all (deploy jobs)."""
    with_: dict[str, Any] = {"node-version": node_version}
    if lock_file is None:
        with_["package-manager-cache"] = False
    else:
        with_["cache"] = "npm"
        with_["cache-dependency-path"] = lock_file
    return {"name": "Set up Node.js", "uses": pins.uses("actions/setup-node"), "with": with_}


def setup_python(python_version: str, requirements: str | None) -> Step:
    """Python with pip's cache keyed on the requirements, or with no cache at all (deploy jobs)."""
    with_: dict[str, Any] = {"python-version": python_version}
    if requirements is not None:
        with_["cache"] = "pip"
        with_["cache-dependency-path"] = requirements
    return {"name": "Set up Python", "uses": pins.uses("actions/setup-python"), "with": with_}


def upload_artifact(name: str, artifact: str, path: str, *, when: str = "always()", days: int = 14) -> Step:
    return {
        "name": name,
        "if": when,
        "uses": pins.uses("actions/upload-artifact"),
        "with": {"name": artifact, "path": path, "if-no-files-found": "warn", "retention-days": days},
    }


def job(
    name: str,
    steps: list[Step],
    *,
    timeout: int,
    needs: Sequence[str] = (),
    condition: str | None = None,
    permissions: Mapping[str, str] | None = None,
    **extra: Any,
) -> Job:
    """A job with the baseline every generated job has: a name, explicit permissions, a timeout."""
    result: Job = {"name": name}
    if needs:
        result["needs"] = list(needs)
    if condition:
        result["if"] = condition
    result["runs-on"] = RUNNER
    result["permissions"] = dict(permissions) if permissions is not None else {"contents": "read"}
    result["timeout-minutes"] = timeout
    result.update(extra)
    result["steps"] = steps
    return result


def script_modules(name: str) -> tuple[str, ...]:
    """The sibling files a bundled script imports, transitively and sorted (``("script_http.py",)``).

    Read from its import statements without importing it (see :mod:`workflows.scripts` for the two forms
    a sibling is imported by), so what the runner gets is exactly what the script uses, with nothing to keep
    in step. A sibling named like a standard module would be shadowed by it on the runner: refused.
    """
    here = resources.files("workflows.scripts")
    found: set[str] = set()
    pending = [name]
    while pending:
        for module in _imported_modules(bundled_script(pending.pop())):
            file = f"{module.removeprefix('workflows.scripts.')}.py"
            if "." in file[:-3] or file == name or file in found or not here.joinpath(file).is_file():
                continue
            if file[:-3] in sys.stdlib_module_names:
                raise ValueError(f"workflows/scripts/{file} is named like a standard module: rename it")
            found.add(file)
            pending.append(file)
    return tuple(sorted(found))


def _imported_modules(source: str) -> Iterable[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            if node.module == "workflows.scripts":  # from workflows.scripts import script_http
                yield from (alias.name for alias in node.names)


def script_bundle(name: str) -> dict[str, str]:
    """File name -> source of what :func:`write_script` writes for ``name``: the script, then its modules."""
    return {file: bundled_script(file) for file in (name, *script_modules(name))}


def write_script(name: str) -> Step:
    """A step that writes a bundled stdlib script to $RUNNER_TEMP, its source inlined as a quoted heredoc.

    Inlining keeps the workflow self-contained (nothing fetched, reviewed in the same diff); writing it
    once per job lets several steps run it through :func:`run_script`. The sibling modules the script
    imports (:func:`script_modules`) are written next to it, each as a heredoc of its own, so that
    ``python3 $RUNNER_TEMP/<name>`` finds them by their bare names.
    """
    bundle = script_bundle(name)
    for file, source in bundle.items():
        if "\nPYTHON_SCRIPT\n" in f"\n{source}":
            raise ValueError(f"{file} contains the heredoc delimiter PYTHON_SCRIPT")
    modules = [file for file in bundle if file != name]
    title = f"Write {name} (inlined from maya-infra workflows/scripts/{name})"
    if modules:
        title = f"Write {name} with {', '.join(modules)} (inlined from maya-infra workflows/scripts/)"
    return {
        "name": title,
        "run": "".join(
            f"cat > \"$RUNNER_TEMP/{file}\" <<'PYTHON_SCRIPT'\n{source}PYTHON_SCRIPT\n"
            for file, source in bundle.items()
        ),
    }


def run_script(name: str, arguments: str) -> str:
    """The command that runs a script written by :func:`write_script` earlier in the same job."""
    return f'python3 "$RUNNER_TEMP/{name}" {arguments}'
