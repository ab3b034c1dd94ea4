"""Railway's public schema (the vendored SDL), found and built once per process."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import graphql

# --------------------------------------------------------------------------------------------- schema

_SCHEMA_CACHE: dict[str, graphql.GraphQLSchema] = {}
_SCHEMA_LOCK = threading.Lock()


def schema_path_candidates() -> list[Path]:
    """Where the vendored Railway SDL is looked for (first existing wins)."""
    here = Path(__file__).resolve()
    repo = here.parents[3]  # tests/fakes/railway/schema.py -> the repository
    out: list[Path] = []
    env = os.environ.get("RAILWAY_SCHEMA_PATH")
    if env:
        out.append(Path(env))
    out.append(repo / "tests" / "railway" / "schema.graphql")  # vendored: a clone needs nothing beside it
    return out


def find_schema_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    for cand in schema_path_candidates():
        if cand.is_file():
            return cand
    raise FileNotFoundError(
        "Railway schema.graphql not found; set RAILWAY_SCHEMA_PATH or pass schema_path= "
        f"(looked in: {', '.join(str(c) for c in schema_path_candidates())})"
    )


def load_schema(path: str | os.PathLike[str] | None = None) -> graphql.GraphQLSchema:
    """Build (once per file) the real Railway schema. ``assume_valid`` because of the Team.id quirk."""
    p = str(find_schema_path(path).resolve())
    with _SCHEMA_LOCK:
        schema = _SCHEMA_CACHE.get(p)
        if schema is None:
            schema = graphql.build_schema(Path(p).read_text(encoding="utf-8"), assume_valid=True)
            _SCHEMA_CACHE[p] = schema
        return schema
