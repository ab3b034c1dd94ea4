"""The backend 5xx-rate alert as Checkly runs it: the GraphQL request to Railway and its two scripts.

Railway counts the backend's requests per status code but offers no way to alert on their share through
its API (its monitors are read-only there, its notification rules have no HTTP events), so a poller reads
the counts and decides: in production a Checkly API check (components/monitoring.py), in a stack without
Checkly the scheduled monitor workflow (workflows/scripts/error_rate.py). Both send the same document
(:data:`QUERY`) and apply the same arithmetic; the JavaScript below is generated here, in one place, and
tests run it with node against the fake Railway's answers and compare its verdicts with the Python poller's.

* The **setup script** sets the window (``startDate``/``endDate``: the last ``windowMinutes``) in the
  request body and the ``Project-Access-Token`` header from the check group's *secret* environment variable
  :data:`TOKEN_VARIABLE` (Checkly's setup scripts may change ``request.body`` and ``request.headers``).
* The **teardown script** sums the 5xx and all requests of Railway's answer (``response.body``) and throws
  when the share is above the threshold — a throwing teardown fails the run, so the check alerts like any
  other. Fewer than ``minRequests`` requests never fail it. A Railway error (refused token, API down) also
  fails it, saying so: a blind alert is worth a mail.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from config import StackConfig
from config.monitoring import BackendErrorRateSettings

#: The one document both pollers send. workflows/scripts/error_rate.py is inlined into a workflow and imports
#: nothing of ours, so it holds a copy; tests/components/test_error_rate.py keeps the two identical.
QUERY = (
    "query BackendErrorRate($serviceId: String!, $environmentId: String!, $startDate: DateTime!, "
    "$endDate: DateTime!, $stepSeconds: Int) { httpMetricsGroupedByStatus(serviceId: $serviceId, "
    "environmentId: $environmentId, startDate: $startDate, endDate: $endDate, stepSeconds: $stepSeconds) "
    "{ statusCode samples { ts value } } }"
)
#: Railway's resolution of the counts (one sample per minute); only their sum matters.
STEP_SECONDS = 60

#: The check group's secret environment variable holding the stack's metrics project token.
TOKEN_VARIABLE = "RAILWAY_METRICS_TOKEN"  # noqa: S105 - a variable name, not a credential
#: The GraphQL operation both pollers send (Railway's request log shows it by this name).
OPERATION_NAME = "BackendErrorRate"


def token_name(cfg: StackConfig) -> str:
    """The Railway project token's name: its own, so it is rotated or revoked apart from CI's deploy token."""
    return f"maya-{cfg.stack}-metrics"


def request_body(service_id: pulumi.Input[str], environment_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The POST body: the query and its ids; the setup script fills in the window on every run."""
    return pulumi.Output.all(service_id, environment_id).apply(lambda ids: body_json(str(ids[0]), str(ids[1])))


def body_json(service_id: str, environment_id: str) -> str:
    variables: dict[str, Any] = {
        "serviceId": service_id,
        "environmentId": environment_id,
        "startDate": None,  # set by the setup script
        "endDate": None,
        "stepSeconds": STEP_SECONDS,
    }
    return json.dumps({"query": QUERY, "operationName": OPERATION_NAME, "variables": variables}, sort_keys=True)


def setup_script(rate: BackendErrorRateSettings) -> str:
    """Node.js run before the request: the window and the token header."""
    return f"""// maya-infra (components/error_rate.py): the window of the backend 5xx-rate check, and its token.
const WINDOW_MINUTES = {rate.window_minutes}
const token = process.env.{TOKEN_VARIABLE}
if (!token) {{
  throw new Error('{TOKEN_VARIABLE} is not set in the check group: run pulumi up for this stack')
}}
const end = new Date()
const start = new Date(end.getTime() - WINDOW_MINUTES * 60 * 1000)
const payload = JSON.parse(request.body)
payload.variables.startDate = start.toISOString()
payload.variables.endDate = end.toISOString()
request.body = JSON.stringify(payload)
request.headers['Project-Access-Token'] = token
"""


def teardown_script(rate: BackendErrorRateSettings) -> str:
    """Node.js run after the request: the 5xx share of Railway's answer; throws (fails the run) above it."""
    return f"""// maya-infra (components/error_rate.py): the backend 5xx share; a throw fails the run and alerts.
const THRESHOLD_PERCENT = {rate.threshold_percent!r}
const WINDOW_MINUTES = {rate.window_minutes}
const MIN_REQUESTS = {rate.min_requests}
let answer
try {{
  answer = JSON.parse(response.body)
}} catch (e) {{
  throw new Error(`the backend 5xx rate is unknown: Railway answered HTTP ${{response.statusCode}} without JSON`)
}}
if (answer && Array.isArray(answer.errors) && answer.errors.length > 0) {{
  const messages = answer.errors.map((e) => (e && e.message) || JSON.stringify(e)).join('; ')
  throw new Error(
    `the backend 5xx rate is unknown: Railway refused the metrics query (HTTP ${{response.statusCode}}): ${{messages}}`)
}}
const groups = answer && answer.data ? answer.data.httpMetricsGroupedByStatus : undefined
if (response.statusCode !== 200 || !Array.isArray(groups)) {{
  throw new Error(`the backend 5xx rate is unknown: Railway answered HTTP ${{response.statusCode}} without metrics`)
}}
let errors = 0
let total = 0
for (const group of groups) {{
  const requests = Math.round(group.samples.reduce((sum, sample) => sum + Number(sample.value), 0))
  total += requests
  if (group.statusCode >= 500 && group.statusCode <= 599) errors += requests
}}
const rate = total > 0 ? (100 * errors) / total : 0
const share =
  `backend 5xx rate ${{rate.toFixed(1)}}% (${{errors}} of ${{total}} requests) in the last ${{WINDOW_MINUTES}} min`
if (total < MIN_REQUESTS) {{
  console.log(`${{share}}: fewer than ${{MIN_REQUESTS}} requests, not judged`)
}} else if (rate > THRESHOLD_PERCENT) {{
  throw new Error(`${{share}} is above ${{THRESHOLD_PERCENT}}%`)
}} else {{
  console.log(`${{share}}: within ${{THRESHOLD_PERCENT}}%`)
}}
"""
