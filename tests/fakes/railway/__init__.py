"""A stateful fake of Railway's public GraphQL API (``POST /graphql/v2``).

Used by the provider's contract tests and for a local rehearsal
(``python -m tests.fakes.railway_api --port 0`` prints the URL and serves until SIGTERM/SIGINT).

Layout
------
``schema`` (the vendored SDL, built once) · ``state`` (objects, recorded requests, faults) · ``base``
(constants, helpers, the resolver registry) · ``server`` (the endpoint, on the loopback server shared by
the three fakes, tests/fakes/base.py) · ``core`` (faults, validation, execution, resolution) ·
``model`` (lookups, views, variables, deployments, settings, config) ·
``lifecycle`` (creators, cascading deletes) · ``queries`` · mutations by area: ``projects``
(projects, environments, services, variables), ``network`` (domains, TCP proxies), ``deploys``
(triggers, deployments, tokens), ``data`` (templates, volumes, backups) · ``fake`` (``FakeRailway``,
composed of those parts, with its lifecycle, counters and behind-our-back helpers).

Where bugs hide, it behaves like Railway: template deploys are asynchronous (the service and volume
appear when the workflow completes, after ``template_workflow_polls`` polls or
``template_delay_seconds``); any request can be committed and then lose its answer (faults
``drop_after``, ``http_after``, ``graphql_error_after``, ``slow_commit``); two services may share a name.

Design
------
* Railway's real public schema (the vendored SDL) is built once with graphql-core and every incoming
  document is parsed, validated and EXECUTED against it. Root fields of ``Query``/``Mutation`` are
  dispatched to the ``_q_*``/``_m_*`` methods below; nested objects are plain dicts (lazy relations and
  connections are callables ``(info, **args)``, which graphql-core's default resolver calls).
* Invalid documents (syntax, validation, variable coercion, unknown operation name) are answered with
  HTTP 400 and ``{"errors": [...]}`` (no ``data``) and recorded in ``FakeRailway.invalid_documents``.
* Resolver errors (not found, not authorized, refused) are answered with HTTP 200,
  ``{"data": null, "errors": [{"message", "locations", "path"}]}``, like Railway.
* Root fields the fake does not implement fail with ``fake railway: Query.x is not implemented`` and are
  recorded in ``FakeRailway.unimplemented``; non-null object fields the fake does not model fail the same
  way and are recorded in ``FakeRailway.unmodeled_fields``.
* One lock guards the whole state; a document is executed while holding it.
* Nothing here prints variable values or tokens (the HTTP request log is disabled).

Deployment status machine
-------------------------
A new deployment starts ``QUEUED``. Each ``deployment(id:)`` query (the root field only) counts as one poll
and advances it: with N = ``deploy_polls_to_finish``, poll k < N-1 shows ``BUILDING``, poll N-1 shows
``DEPLOYING`` and poll N shows the terminal status (``SUCCESS``, or ``FAILED``/``CRASHED`` when
``fail_next_deploy`` armed it). With N <= 0 deployments are created already terminal. When a deployment
reaches ``SUCCESS``, older ``SUCCESS`` deployments of the same service instance become ``REMOVED`` (they
then have ``canRollback: true``). Creating a deployment marks older in-flight deployments of the same
instance ``REMOVED`` (superseded). ``FakeRailway.advance_deployments()`` finishes every in-flight deployment.
"""

from __future__ import annotations

from tests.fakes.railway.fake import FakeRailway
from tests.fakes.railway.schema import find_schema_path, load_schema
from tests.fakes.railway.state import FakeState, Fault, RecordedRequest

__all__ = [
    "FakeRailway",
    "FakeState",
    "Fault",
    "RecordedRequest",
    "find_schema_path",
    "load_schema",
]
