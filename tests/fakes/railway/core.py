"""Faults, request handling, validation and execution against the schema, root-field resolution."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from collections.abc import Mapping
from typing import Any

import graphql
from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    OperationDefinitionNode,
    OperationType,
)
from graphql.utilities import get_operation_ast

from tests.fakes.base import AFTER, BEFORE, SLOW, answer_with_fault, take_fault
from tests.fakes.railway.base import (
    _MUTATIONS,
    _QUERIES,
    FAULT_KINDS,
    GENERIC_ERROR,
    NOT_AUTHORIZED,
    PROJECT_TOKEN_FIELDS,
    _Ctx,
    _format_retry_after,
    _json_response,
    _Response,
    _root_fields,
    _text_response,
)
from tests.fakes.railway.state import Fault, RecordedRequest

#: Railway's documented limit on the Hobby plan (requests per hour and token); on by default in the fake.
HOBBY_REQUESTS_PER_HOUR = 1000


def _credential_key(token: str) -> str:
    """The rate limit's key for one token (a digest: the fake keeps no credential in its bookkeeping)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()[:16]


def _credential_of(headers: Any) -> str:
    """Whose budget a request spends: its Bearer token or project token (one budget for requests with none)."""
    auth = headers.get("Authorization") or ""
    scheme, _, token = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and token:
        return _credential_key(token)
    return _credential_key(headers.get("Project-Access-Token") or "")


#: When each of Railway's fault kinds hits, relative to the work (see ``inject``).
_FAULT_WHEN = {
    "http": BEFORE,
    "cloudflare_1015": BEFORE,
    "drop": BEFORE,
    "graphql_error": BEFORE,
    "slow": SLOW,
    "slow_commit": SLOW,
    "drop_after": AFTER,
    "http_after": AFTER,
    "graphql_error_after": AFTER,
}


class CoreMixin:
    """Faults, request handling, validation and execution against the schema, root-field resolution."""

    # -------------------------------------------------------------------------------------- faults

    def inject(
        self,
        kind: str,
        *,
        match: str | None = None,
        times: int = 1,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        message: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """Queue a fault; faults are consumed in order by the first matching requests.

        kinds: "http" (``status``, default 500; a 429 carries ``Retry-After`` when ``retry_after`` is
        given plus ``X-RateLimit-*`` headers and a JSON body; other statuses answer ``error code: <status>``
        as text), "cloudflare_1015" (429, text ``error code: 1015``, no Retry-After), "drop" (connection
        closed without a response, BEFORE anything is applied), "drop_after" (the document is executed and
        its effects kept, then the connection is closed without a response), "slow" (sleep ``delay``
        seconds, default 1, then answer normally), "graphql_error" (200, ``data: null``,
        ``errors: [{message, extensions}]``; default message "Internal server error").

        Faults that hit AFTER the write was committed (Railway did the work, the client never learns it):
        "drop_after" (above), "http_after" (the request is carried out, then answered with ``status``,
        default 500), "graphql_error_after" (carried out, then answered with Railway's generic
        ``"Problem processing request"``), "slow_commit" (= "slow": the request is held ``delay`` seconds
        and then carried out — with a delay longer than the client's timeout, the write lands after the
        client gave up).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self.faults.append(Fault(kind, match, times, status, retry_after, delay, message, extensions))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, op_name: str | None, root_fields: list[str]) -> Fault | None:
        return take_fault(self.faults, lambda f: f.match is None or f.match == op_name or f.match in root_fields)

    # -------------------------------------------------------------------------------------- HTTP

    def _authenticate(self, headers: Any) -> tuple[str, dict[str, Any] | None]:
        auth = headers.get("Authorization")
        pat = headers.get("Project-Access-Token")
        if auth is not None:
            scheme, _, tok = auth.strip().partition(" ")
            if scheme.lower() == "bearer" and secrets.compare_digest(tok.strip().encode(), self.token.encode()):
                return "bearer", None
            return "invalid", None
        if pat is not None:
            with self._lock:
                for rec in self.state.project_tokens.values():
                    if secrets.compare_digest(str(rec["token"]).encode(), pat.strip().encode()):
                        return "project", rec
            return "invalid", None
        return "none", None

    def _over_budget(self, credential: str) -> _Response | None:
        """Railway's request limit, per token: when ``request_budget`` requests of this credential were
        answered within the window (on the fake's clock), HTTP 429 with ``Retry-After`` — whole seconds until
        the oldest leaves the window — like the real limit (Hobby: 1,000 requests an hour)."""
        if self.request_budget is None:
            return None
        now = self.now()
        horizon = now - self.budget_window_seconds
        times = [t for t in self._budget_times.get(credential, []) if t > horizon]
        self._budget_times[credential] = times
        if len(times) >= self.request_budget:
            self.refused_over_budget += 1
            wait = math.ceil(max(1.0, times[0] - horizon)) if times else math.ceil(self.budget_window_seconds)
            hdrs = {"Retry-After": _format_retry_after(wait), "X-RateLimit-Limit": str(self.request_budget)}
            body = {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATE_LIMITED"}}]}
            return _json_response(429, body, {**hdrs, "X-RateLimit-Remaining": "0"})
        times.append(now)
        return None

    def requests_left(self, token: str | None = None) -> int | None:
        """How many requests ``token`` (default: the fake's Bearer token) may still send in this window."""
        if self.request_budget is None:
            return None
        credential = _credential_key(token or self.token)
        with self._lock:
            horizon = self.now() - self.budget_window_seconds
            return self.request_budget - sum(1 for t in self._budget_times.get(credential, []) if t > horizon)

    def _handle_http(self, body: bytes, headers: Any, source: str | None) -> _Response:
        auth_kind, token_rec = self._authenticate(headers)
        body_text = body.decode("utf-8", errors="replace")
        try:
            payload = json.loads(body_text) if body_text.strip() else None
        except ValueError:
            payload = None
        query = payload.get("query") if isinstance(payload, dict) else None
        variables = payload.get("variables") if isinstance(payload, dict) else None
        op_name_sent = payload.get("operationName") if isinstance(payload, dict) else None
        if not isinstance(op_name_sent, str):
            op_name_sent = None

        document: DocumentNode | None = None
        syntax_error: GraphQLError | None = None
        if isinstance(query, str):
            try:
                document = graphql.parse(query)
            except GraphQLError as e:
                syntax_error = e
        op = get_operation_ast(document, op_name_sent) if document is not None else None
        op_name = op.name.value if op is not None and op.name is not None else op_name_sent
        root_fields = _root_fields(document, op) if document is not None and op is not None else []
        is_mutation = op is not None and op.operation == OperationType.MUTATION

        rec = RecordedRequest(
            operation_name=op_name,
            root_fields=root_fields,
            is_mutation=is_mutation,
            http_status=None,
            variables=variables if isinstance(variables, dict) else None,
            source=source,
            auth_kind=auth_kind,
            query=query if isinstance(query, str) else body_text,
        )
        with self._lock:
            self.requests.append(rec)
            self._advance_workflows()
            over_budget = self._over_budget(_credential_of(headers))
            fault = None if over_budget is not None else self._take_fault(op_name, root_fields)
        if over_budget is not None:
            rec.fault, rec.http_status = "budget", 429
            return over_budget
        if fault is not None:
            rec.fault = fault.kind

        def work() -> _Response:
            return self._process(
                rec, payload, query, variables, op_name_sent, document, syntax_error, op, auth_kind, token_rec
            )

        resp = answer_with_fault(
            None if fault is None else _FAULT_WHEN[fault.kind],
            work,
            lambda: self._fault_response(fault),
            delay=fault.delay if fault is not None and fault.delay is not None else 1.0,
        )
        rec.http_status = None if resp.drop else resp.status
        if not resp.drop and (fault is None or fault.kind != "cloudflare_1015"):  # the edge block sends none
            resp.headers = {**self._rate_headers(_credential_of(headers)), **resp.headers}
        return resp

    def _rate_headers(self, credential: str) -> dict[str, str]:
        """Railway's X-RateLimit-* headers on every answer, while a request budget applies (the credential's
        own budget, on the fake's clock)."""
        if self.request_budget is None:
            return {}
        with self._lock:
            now = self.now()
            times = [t for t in self._budget_times.get(credential, []) if t > now - self.budget_window_seconds]
            reset = (times[0] if times else now) + self.budget_window_seconds
        return {
            "X-RateLimit-Limit": str(self.request_budget),
            "X-RateLimit-Remaining": str(max(0, self.request_budget - len(times))),
            "X-RateLimit-Reset": str(int(time.time() + max(0.0, reset - now))),
        }

    def _fault_response(self, fault: Fault | None) -> _Response:
        """What the fault sends instead of Railway's answer (or a dropped connection)."""
        assert fault is not None
        if fault.kind in ("drop", "drop_after"):
            return _Response(drop=True)
        if fault.kind == "cloudflare_1015":
            return _text_response(429, "error code: 1015")
        if fault.kind in ("graphql_error", "graphql_error_after"):
            ext = fault.extensions if fault.extensions is not None else {"code": "INTERNAL_SERVER_ERROR"}
            default = GENERIC_ERROR if fault.kind == "graphql_error_after" else "Internal server error"
            return _json_response(
                200, {"data": None, "errors": [{"message": fault.message or default, "extensions": ext}]}
            )
        status = fault.status or 500
        if fault.kind == "http" and status == 429:
            hdrs = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0"}
            if fault.retry_after is not None:
                hdrs["Retry-After"] = _format_retry_after(fault.retry_after)
                hdrs["X-RateLimit-Reset"] = str(int(time.time() + fault.retry_after))
            msg = fault.message or "Rate limit exceeded"
            return _json_response(429, {"errors": [{"message": msg, "extensions": {"code": "RATE_LIMITED"}}]}, hdrs)
        hdrs = {}
        if fault.kind == "http" and fault.retry_after is not None:
            hdrs["Retry-After"] = _format_retry_after(fault.retry_after)
        return _text_response(status, fault.message or f"error code: {status}", hdrs)

    def _invalid(self, rec: RecordedRequest, document_text: str, errors: list[dict[str, Any]]) -> _Response:
        with self._lock:
            self.invalid_documents.append(document_text)
        rec.error_messages = [str(e.get("message")) for e in errors]
        return _json_response(400, {"errors": errors})

    def _process(
        self,
        rec: RecordedRequest,
        payload: Any,
        query: Any,
        variables: Any,
        op_name_sent: str | None,
        document: DocumentNode | None,
        syntax_error: GraphQLError | None,
        op: OperationDefinitionNode | None,
        auth_kind: str,
        token_rec: dict[str, Any] | None,
    ) -> _Response:
        text = query if isinstance(query, str) else (rec.query or "")
        if not isinstance(payload, dict):
            return self._invalid(rec, text, [{"message": "POST body sent invalid JSON."}])
        if not isinstance(query, str) or not query.strip():
            return self._invalid(
                rec, text, [{"message": "Must provide query string.", "extensions": {"code": "BAD_REQUEST"}}]
            )
        if variables is not None and not isinstance(variables, dict):
            return self._invalid(
                rec,
                text,
                [{"message": "Variables must be provided as an Object where each property is a variable value."}],
            )
        if syntax_error is not None or document is None:
            err = syntax_error.formatted if syntax_error is not None else {"message": "Syntax Error"}
            return self._invalid(rec, text, [{**err, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}])
        errors = graphql.validate(self.schema, document)
        if errors:
            return self._invalid(
                rec, text, [{**e.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in errors]
            )
        if op is None:
            msg = (
                f"Unknown operation named '{op_name_sent}'."
                if op_name_sent
                else "Must provide operation name if query contains multiple operations."
            )
            return self._invalid(rec, text, [{"message": msg, "extensions": {"code": "BAD_REQUEST"}}])
        if op.operation == OperationType.SUBSCRIPTION:
            return self._invalid(
                rec, text, [{"message": "Subscriptions are not supported over HTTP POST (use the websocket endpoint)"}]
            )
        if auth_kind not in ("bearer", "project"):
            rec.error_messages = [NOT_AUTHORIZED]
            return _json_response(200, {"data": None, "errors": [{"message": NOT_AUTHORIZED}]})

        ctx = _Ctx(auth_kind, token_rec)
        with self._lock:
            self._advance_workflows()
            result = graphql.execute(
                self.schema,
                document,
                root_value=None,
                context_value=ctx,
                variable_values=variables,
                operation_name=op_name_sent,
                field_resolver=self._resolve,
            )
        assert isinstance(result, graphql.ExecutionResult)
        errs = list(result.errors or [])
        if errs and result.data is None and all(e.path is None for e in errs):
            # request errors (variable coercion etc.): the document never ran
            return self._invalid(rec, text, [{**e.formatted, "extensions": {"code": "BAD_USER_INPUT"}} for e in errs])
        out: dict[str, Any] = {"data": result.data}
        if errs:
            out["errors"] = [e.formatted for e in errs]
            rec.error_messages = [e.message for e in errs]
        return _json_response(200, out)

    # --------------------------------------------------------------------------------- resolution

    def _resolve(self, source: Any, info: graphql.GraphQLResolveInfo, **args: Any) -> Any:
        if info.path.prev is None:
            parent = info.parent_type.name
            table = _MUTATIONS if parent == "Mutation" else _QUERIES
            method = table.get(info.field_name)
            if method is None:
                self.unimplemented.append(f"{parent}.{info.field_name}")
                raise GraphQLError(f"fake railway: {parent}.{info.field_name} is not implemented")
            ctx: _Ctx = info.context
            if ctx.auth == "project" and info.field_name not in PROJECT_TOKEN_FIELDS:
                raise GraphQLError(NOT_AUTHORIZED)
            return getattr(self, method)(info, **args)
        if isinstance(source, Mapping):
            name = info.field_name
            if name in source:
                value = source[name]
                return value(info, **args) if callable(value) else value
            if graphql.is_non_null_type(info.return_type):
                key = f"{info.parent_type.name}.{name}"
                self.unmodeled_fields.append(key)
                raise GraphQLError(f"fake railway: {key} is not modeled")
            return None
        return graphql.default_field_resolver(source, info, **args)
