"""Build checks of the backend that need no third-party package. Standard library only.

maya-infra inlines this file into the backend workflow's build job (workflows/backend.py); it runs in
the backend directory with the backend's own dependencies installed.

Commands:
  env-example FILE --require NAME...      every variable the deployment sets is documented in FILE
  import-app MODULE:ATTR --env-file FILE  the app imports with the settings of FILE (existing env wins)
  migrations DIR [--applied FILE]         files are NNN_name.sql, numbered once each; all recorded as applied
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=(?P<value>.*)$")
_MIGRATION = re.compile(r"^(?P<version>[0-9]+)_[A-Za-z0-9_-]+\.sql$")


def parse_env_file(text: str) -> dict[str, str]:
    """``NAME=value`` lines of a dotenv file; comments, blank lines and quotes handled, nothing expanded."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            continue
        value = match.group("value").strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[match.group("name")] = value
    return values


def missing_variables(documented: Iterable[str], required: Iterable[str]) -> list[str]:
    known = set(documented)
    return sorted(name for name in set(required) if name not in known)


def migration_problems(names: Iterable[str], applied: Iterable[str] | None = None) -> list[str]:
    """What is wrong with a migrations folder: bad names, a number used twice, files never applied."""
    problems: list[str] = []
    versions: dict[str, str] = {}
    widths: set[int] = set()
    for name in sorted(names):
        match = _MIGRATION.match(name)
        if not match:
            problems.append(f"{name}: not NNN_description.sql")
            continue
        version = match.group("version")
        widths.add(len(version))
        if version in versions:
            problems.append(f"{name}: number {version} is already used by {versions[version]}")
        versions[version] = name
    if len(widths) > 1:
        problems.append(f"numbers have different widths {sorted(widths)}: name order would not be apply order")
    if applied is not None:
        recorded = {str(v).strip() for v in applied if str(v).strip()}
        for version, name in sorted(versions.items()):
            if version not in recorded and str(int(version)) not in recorded:
                problems.append(f"{name}: not recorded in schema_migrations after applying every migration")
    return problems


def load_env_defaults(path: Path, environ: MutableMapping[str, str]) -> list[str]:
    """Set the variables of ``path`` that the environment does not set yet; returns their names."""
    added = []
    for name, value in parse_env_file(path.read_text(encoding="utf-8")).items():
        if name not in environ:
            environ[name] = value
            added.append(name)
    return added


def import_app(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    module = importlib.import_module(module_name)
    if attribute and not hasattr(module, attribute):
        raise AttributeError(f"{module_name} has no attribute {attribute!r}")
    return getattr(module, attribute) if attribute else module


def main(argv: Sequence[str] | None = None, environ: MutableMapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="backend_checks", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    env_example = commands.add_parser("env-example")
    env_example.add_argument("file", type=Path)
    env_example.add_argument("--require", nargs="+", default=[])
    app = commands.add_parser("import-app")
    app.add_argument("target")
    app.add_argument("--env-file", type=Path)
    migrations = commands.add_parser("migrations")
    migrations.add_argument("directory", type=Path)
    migrations.add_argument("--applied", type=Path)
    args = parser.parse_args(argv)

    if args.command == "env-example":
        if not args.file.is_file():
            print(f"::error::{args.file} does not exist: document every variable of the backend there")
            return 1
        missing = missing_variables(parse_env_file(args.file.read_text(encoding="utf-8")), args.require)
        for name in missing:
            print(f"::error file={args.file}::{name} is set on Railway by maya-infra but not documented here")
        print(f"{args.file}: {len(args.require) - len(missing)}/{len(args.require)} deployment variables documented")
        return 1 if missing else 0
    if args.command == "import-app":
        if args.env_file is not None:
            added = load_env_defaults(args.env_file, environ)
            print(f"settings from {args.env_file}: {', '.join(added) or 'none needed'}")
        import_app(args.target)
        print(f"{args.target} imports")
        return 0
    names = [p.name for p in args.directory.glob("*.sql")] if args.directory.is_dir() else []
    if not names:
        print(f"::error::no migrations found in {args.directory}")
        return 1
    applied = args.applied.read_text(encoding="utf-8").split() if args.applied else None
    problems = migration_problems(names, applied)
    for problem in problems:
        print(f"::error::{args.directory}/{problem}")
    print(f"{len(names)} migrations checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
