"""Railway's live schema against the vendored one, judged by what the product actually sends.

``documents()`` is the one list of every GraphQL document maya-infra sends to Railway — the provider's
(``components/railway/operations.py``), the pipelines' scripts (``workflows/scripts/``: the pull-request
previews, the backend rollback, the pre-deploy backup, the 5xx-rate poller) and the Checkly check's copy of
the metrics query (``components/error_rate.py``). ``compare()`` validates each one against the *live* schema
(from introspection) and lists the differences from the vendored copy (``tests/railway/schema.graphql``) that
touch a type, field or argument a document uses; the rest are only counted. The scheduled schema-drift job
(``python -m ops preflight --only railway.schema``) runs the same comparison and keeps one issue open while a
document is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import graphql
from graphql.utilities import find_breaking_changes, find_dangerous_changes

from components import error_rate as checkly_error_rate
from components.railway import operations
from config import PROJECT_DIR
from workflows.scripts import error_rate, predeploy_backup, preview_graphql, railway_rollback

VENDORED = PROJECT_DIR / "tests" / "railway" / "schema.graphql"
#: How many of the differences that matter are named in the table (the rest are counted).
SHOWN = 6


@dataclass(frozen=True)
class Document:
    """One GraphQL document the product sends, and where it lives."""

    source: str
    name: str
    text: str


def _name(text: str) -> str:
    definition = next(
        (d for d in graphql.parse(text).definitions if isinstance(d, graphql.OperationDefinitionNode)), None
    )
    return definition.name.value if definition is not None and definition.name is not None else "<anonymous>"


#: Module path -> the documents it declares (each module keeps its own; this only gathers them).
SOURCES: tuple[tuple[str, Sequence[str]], ...] = (
    ("workflows/scripts/preview_graphql.py", preview_graphql.DOCUMENTS),
    ("workflows/scripts/railway_rollback.py", railway_rollback.DOCUMENTS),
    ("workflows/scripts/predeploy_backup.py", predeploy_backup.DOCUMENTS),
    ("workflows/scripts/error_rate.py", (error_rate.QUERY,)),
    ("components/error_rate.py", (checkly_error_rate.QUERY,)),
)


def documents() -> tuple[Document, ...]:
    """Every document maya-infra sends to Railway, each text once (the first place that declares it wins)."""
    found: dict[str, Document] = {}
    for op in operations.ALL:
        found.setdefault(op.document, Document("components/railway/operations.py", op.name, op.document))
    for source, texts in SOURCES:
        for text in texts:
            key = " ".join(text.split())
            if key not in found and text not in found:
                found[key] = Document(source, _name(text), text)
    return tuple(found.values())


@cache
def vendored_schema() -> graphql.GraphQLSchema | None:
    """The vendored schema (None when this checkout has no tests/ folder)."""
    if not VENDORED.is_file():
        return None
    return graphql.build_schema(VENDORED.read_text(encoding="utf-8"), assume_valid=True)


def live_schema(introspection: Mapping[str, Any]) -> graphql.GraphQLSchema:
    """The schema Railway describes in its introspection answer (``data`` of the introspection query)."""
    return graphql.build_client_schema(dict(introspection), assume_valid=True)  # type: ignore[arg-type]


INTROSPECTION = graphql.get_introspection_query(descriptions=True)


def coordinates(schema: graphql.GraphQLSchema, text: str) -> set[str]:
    """``Type.field`` / ``Type.field(arg)`` / input and enum type names a document touches in ``schema``."""
    used: set[str] = set()
    info = graphql.TypeInfo(schema)

    def named(type_: Any) -> None:
        if type_ is not None:
            used.add(graphql.get_named_type(type_).name)

    class Visitor(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            parent = info.get_parent_type()
            if parent is not None:
                used.add(f"{parent.name}.{node.name.value}")
                for argument in node.arguments or ():
                    used.add(f"{parent.name}.{node.name.value}({argument.name.value})")
            named(info.get_type())

        def enter_variable_definition(self, node: graphql.VariableDefinitionNode, *_: Any) -> None:
            inner: Any = node.type
            while not isinstance(inner, graphql.NamedTypeNode):
                inner = inner.type
            used.add(inner.name.value)

    graphql.visit(graphql.parse(text), graphql.TypeInfoVisitor(info, Visitor()))
    # input object fields reachable from the variables' input types
    pending = [schema.type_map[n] for n in list(used) if n in schema.type_map]
    seen: set[str] = set()
    while pending:
        type_ = pending.pop()
        if type_.name in seen or not isinstance(type_, graphql.GraphQLInputObjectType):
            continue
        seen.add(type_.name)
        for field_name, input_field in type_.fields.items():
            used.add(f"{type_.name}.{field_name}")
            pending.append(graphql.get_named_type(input_field.type))
            used.add(graphql.get_named_type(input_field.type).name)
    return used


@dataclass
class Comparison:
    """What the live schema means for the product's documents."""

    total: int
    refused: dict[str, list[str]] = field(default_factory=dict)  # "source: Name" -> the live schema's errors
    relevant: list[str] = field(default_factory=list)  # differences touching what a document uses
    other_changes: int = 0
    compared_with_vendored: bool = True

    @property
    def ok(self) -> bool:
        return not self.refused


def _mentions(description: str, used: set[str]) -> bool:
    words = {w.strip(".,\"'()") for w in description.replace("(", " (").split()}
    return any(w in used for w in words) or any(c in description for c in used if "." in c)


def compare(live: graphql.GraphQLSchema, docs: Iterable[Document] | None = None) -> Comparison:
    docs = tuple(documents() if docs is None else docs)
    result = Comparison(total=len(docs))
    for doc in docs:
        errors = graphql.validate(live, graphql.parse(doc.text))
        if errors:
            result.refused[f"{doc.source}: {doc.name}"] = [e.message for e in errors]
    vendored = vendored_schema()
    if vendored is None:
        result.compared_with_vendored = False
        return result
    used: set[str] = set()
    for doc in docs:
        used |= coordinates(vendored, doc.text)
    changes = [c.description for c in find_breaking_changes(vendored, live)]
    changes += [c.description for c in find_dangerous_changes(vendored, live)]
    for description in changes:
        if _mentions(description, used):
            result.relevant.append(description)
        else:
            result.other_changes += 1
    return result


def summary(result: Comparison) -> str:
    """One line for the table: how many documents the live schema accepts, and the differences that matter."""
    accepted = result.total - len(result.refused)
    parts = [f"{accepted}/{result.total} documents valid against the live schema"]
    if result.compared_with_vendored:
        shown = "; ".join(result.relevant[:SHOWN])
        more = f" (+{len(result.relevant) - SHOWN} more)" if len(result.relevant) > SHOWN else ""
        parts.append(
            f"{len(result.relevant)} difference(s) from the vendored schema touch what they use"
            + (f": {shown}{more}" if shown else "")
        )
        parts.append(f"{result.other_changes} other difference(s) touch nothing the product sends")
    else:
        parts.append("no vendored copy in this checkout to compare with")
    return "; ".join(parts)


def issue_body(result: Comparison, stack: str) -> str:
    """The schema-drift issue's body: every refused document with Railway's words, then the differences."""
    lines = [
        f"Railway's live schema (seen by `python -m ops preflight --stack {stack} --only railway.schema`) no "
        "longer accepts documents maya-infra sends. Until they are fixed, the operations below fail.",
        "",
        "| document | the live schema says |",
        "| --- | --- |",
    ]
    for where, errors in sorted(result.refused.items()):
        lines.append(f"| `{where}` | {'; '.join(errors)[:500].replace('|', '/')} |")
    if result.relevant:
        lines += ["", "Differences from `tests/railway/schema.graphql` that touch what the documents use:", ""]
        lines += [f"- {d}" for d in result.relevant]
    lines += [
        "",
        "Fix: change the documents to the live schema, re-vendor `tests/railway/schema.graphql` from Railway's "
        "introspection (tests/railway/SOURCE.md), run the tests. This issue closes itself on the first run that "
        "finds every document valid.",
    ]
    return "\n".join(lines) + "\n"
