"""A fake of the one Checkly read ``ops preflight`` makes: ``GET /v1/checks`` with the API key and account.

``Authorization: Bearer <api key>`` and ``X-Checkly-Account: <account id>`` must both match, else 401 (as
Checkly answers a wrong key); every request is recorded (method and path only, never the key).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Answer, Incoming, LoopbackFake, json_answer


@dataclass
class ChecklyRequest:
    method: str
    path: str
    status: int = 0

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")


class FakeCheckly(LoopbackFake[ChecklyRequest]):
    fake_name = "fake-checkly"
    server_version = "FakeCheckly/1.0"

    def __init__(
        self, api_key: str = "fake-checkly-key", account_id: str = "acc-fake", host: str = "127.0.0.1"
    ) -> None:
        self.api_key = api_key
        self.account_id = account_id
        self._init_loopback(host, 0)

    def start(self) -> Any:
        self._start_server()
        return self.base_url

    def serve(self, request: Incoming) -> Answer:
        record = ChecklyRequest(request.method, request.path)
        with self._lock:
            self.requests.append(record)
        _, _, key = (request.headers.get("Authorization") or "").partition(" ")
        account = request.headers.get("X-Checkly-Account") or ""
        if not (secrets.compare_digest(key.encode(), self.api_key.encode()) and account == self.account_id):
            record.status = 401
            return json_answer(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})
        if request.method == "GET" and request.path == "/v1/checks":
            record.status = 200
            return json_answer(200, [])
        record.status = 404
        return json_answer(404, {"statusCode": 404, "error": "Not Found"})
