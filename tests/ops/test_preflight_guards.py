"""What keeps ``ops preflight`` read-only and complete: the Railway client's read-only switch, the transport that
refuses every write under every client, the one list of the documents the product sends, and preflight's own
documents against the vendored schema."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import graphql
import httpx
import pytest

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import ClientSettings, RailwayClient
from config import PROJECT_DIR
from ops.preflight import railway as preflight_railway
from ops.preflight import schema
from ops.preflight.readonly import Ledger, ReadOnlyTransport, ReadOnlyViolation
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel

TOKEN = "fake-railway-token"


def test_a_read_only_railway_client_refuses_a_mutation_before_sending_it() -> None:
    with FakeRailway(token=TOKEN) as fake:
        settings = ClientSettings(endpoint=fake.url, requests_per_second=500)
        with RailwayClient(TOKEN, settings, read_only=True) as client:
            with pytest.raises(errors.ReadOnlyError, match="ProjectCreate: this client is read-only"):
                client.execute(gql.PROJECT_CREATE, {"input": {"name": "x"}})
            with pytest.raises(errors.ReadOnlyError):
                client.execute(gql.PROJECT_DELETE, {"id": "p"})
            assert client.execute(gql.PROJECTS, {"workspaceId": None, "after": None})["projects"]["edges"] == []
        assert fake.count(mutations_only=True) == 0 and fake.count() == 1
        # the switch is off by default: the provider writes (a create would go through write_once, exactly_once.py)
        with RailwayClient(TOKEN, settings) as writable, pytest.raises(errors.NotFoundError):
            writable.execute(gql.PROJECT_DELETE, {"id": "p"})
        assert fake.count(mutations_only=True) == 1


def _request(method: str, path: str, body: object = None) -> httpx.Request:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Request(method, f"http://127.0.0.1:1{path}", content=content)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v10/projects/p/promote/d", None),
        ("PUT", "/repos/o/r/contents/x", {"content": ""}),
        ("PATCH", "/repos/o/r", {}),
        ("DELETE", "/v9/projects/p/env/e", None),
        ("POST", "/graphql/v2", {"query": 'mutation M { projectDelete(id: "p") }'}),
        ("POST", "/graphql/v2", {"query": '# a comment first\nmutation M { projectDelete(id: "p") }'}),
        ("POST", "/graphql/v2", {"query": 'query Q { me { id } } mutation M { projectDelete(id: "p") }'}),
        ("POST", "/graphql/v2", {"query": 'subscription S { deployment(id: "d") { id } }'}),
        ("POST", "/graphql/v2", {"query": "not graphql at all"}),
        ("POST", "/other/path", {"query": "query Q { me { id } }"}),
    ],
)
def test_the_transport_refuses_every_write_before_it_is_sent(method: str, path: str, body: object) -> None:
    sent: list[httpx.Request] = []
    inner = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200, json={}))  # type: ignore[func-returns-value]
    transport = ReadOnlyTransport("x", Ledger(), graphql_paths=["/graphql/v2"], inner=inner)
    with pytest.raises(ReadOnlyViolation, match="preflight only reads"):
        transport.handle_request(_request(method, path, body))
    assert sent == []


def test_the_transport_lets_reads_and_graphql_queries_through_and_counts_them() -> None:
    ledger = Ledger()
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "9"}))
    transport = ReadOnlyTransport("railway", ledger, graphql_paths=["/graphql/v2"], inner=inner)
    for request in (
        _request("GET", "/v9/projects/p"),
        _request("HEAD", "/"),
        _request("POST", "/graphql/v2", {"query": "query Q { me { id } }"}),
        _request("POST", "/graphql/v2/", {"query": "{ apiToken { workspaces { id } } }"}),
    ):
        assert transport.handle_request(request).status_code == 200
    assert ledger.requests == {"railway": 4}
    assert ledger.last_headers["railway"]["x-ratelimit-remaining"] == "9"


def test_every_preflight_client_sits_on_the_read_only_transport() -> None:
    """The Vercel fake receives nothing when preflight's client is asked to write (a real server, not a mock)."""
    from ops.preflight.readonly import read_only_client

    with FakeVercel() as fake:
        with read_only_client("vercel", Ledger(), fake.url, {"Authorization": "Bearer fake-vercel-token"}) as client:
            with pytest.raises(ReadOnlyViolation):
                client.post("/v10/projects/p/promote/d")
            assert client.get("/v2/user").status_code == 200
        assert [r.method for r in fake.requests] == ["GET"]


# ---- the documents -----------------------------------------------------------------------------------------


def _graphql_constants(path: Path) -> set[str]:
    """Module-level string constants of ``path`` that parse as a GraphQL operation."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            text = node.value.value.strip()
            if text.startswith(("query ", "mutation ")):
                try:
                    graphql.parse(text)
                except graphql.GraphQLError:
                    continue
                found.add(" ".join(text.split()))
    return found


def test_every_document_the_product_sends_is_in_the_one_list() -> None:
    """A new script (or document) under workflows/scripts or components that talks to Railway is caught here."""
    listed = {" ".join(d.text.split()) for d in schema.documents()}
    declared: set[str] = {" ".join(o.document.split()) for o in gql.ALL}
    for folder in ("workflows/scripts", "components", "ops"):
        for path in sorted((PROJECT_DIR / folder).rglob("*.py")):
            if "preflight" in path.relative_to(PROJECT_DIR).parts:  # preflight's own: the test below
                continue
            declared |= _graphql_constants(path)
    assert len(declared) > len(gql.ALL)  # the scripts' documents were found
    # concatenated constants (error_rate.QUERY is built from parts) are listed through their module
    assert declared - listed == set()
    assert {d.source for d in schema.documents()} == {
        "components/railway/operations.py",
        "workflows/scripts/preview_graphql.py",
        "workflows/scripts/railway_rollback.py",
        "workflows/scripts/predeploy_backup.py",
        "workflows/scripts/error_rate.py",
    }


def test_preflights_own_documents_are_valid_queries_of_the_vendored_schema() -> None:
    vendored = schema.vendored_schema()
    assert vendored is not None
    for op in preflight_railway.DOCUMENTS:
        document = graphql.parse(op.document)
        assert graphql.validate(vendored, document) == [], op.name
        assert not op.is_mutation
        assert all(
            d.operation == graphql.OperationType.QUERY
            for d in document.definitions
            if isinstance(d, graphql.OperationDefinitionNode)
        )


def test_a_dropped_field_is_found_in_every_document_that_uses_it_and_nowhere_else() -> None:
    vendored = schema.vendored_schema()
    assert vendored is not None
    sdl = schema.VENDORED.read_text().replace("  canRollback: Boolean!\n", "", 1)
    result = schema.compare(graphql.build_schema(sdl, assume_valid=True))
    users = {f"{d.source}: {d.name}" for d in schema.documents() if "canRollback" in d.text}
    assert set(result.refused) == users and len(users) >= 3
    assert result.relevant == ["Deployment.canRollback was removed."]
    unused = schema.VENDORED.read_text().replace("  groupId: String\n", "", 1)  # Bucket.groupId: unused
    assert unused != schema.VENDORED.read_text()
    quiet = schema.compare(graphql.build_schema(unused, assume_valid=True))
    assert quiet.ok and quiet.relevant == [] and quiet.other_changes >= 1


def test_preflights_railway_client_refuses_mutations_twice() -> None:
    """The client preflight builds has the read-only switch on, and sits on the read-only transport too."""
    import config
    from ops.preflight.context import Run

    with FakeRailway(token=TOKEN) as fake:
        run = Run.of(config.load_from_stack_file("staging"), {"MAYA_RAILWAY_API_URL": fake.url})
        with preflight_railway.client(run, TOKEN) as client:
            assert client.read_only
            with pytest.raises(errors.ReadOnlyError):
                client.execute(gql.SERVICE_CREATE, {"input": {"projectId": "p"}})
            client.read_only = False  # the transport still refuses what the switch would have let through
            with pytest.raises(ReadOnlyViolation):
                client.execute(gql.PROJECT_DELETE, {"id": "p"})  # (a create is refused earlier: outside write_once)
        assert fake.count() == 0 and run.ledger.requests == {}


def test_no_preflight_module_builds_an_http_client_of_its_own() -> None:
    """Every HTTP client of ops/preflight comes from readonly.read_only_client or the read-only Railway client."""
    folder = PROJECT_DIR / "ops" / "preflight"
    for path in sorted(folder.glob("*.py")):
        text = path.read_text()
        if path.name != "readonly.py":
            assert "httpx.Client(" not in text and "HTTPTransport(" not in text, path.name
        if "RailwayClient(" in text:
            assert "read_only=True" in text and "transport=transport" in text, path.name
