"""Everything ``ops preflight`` talks to, on 127.0.0.1: the fake Railway, GitHub, Vercel and Checkly APIs, a DNS
server (dnspython, UDP) and an SMTP server with STARTTLS and AUTH (aiosmtpd, a certificate made by openssl).

``world()`` starts them with a stack that passes every check, and hands back the environment preflight runs
with (credentials as ``MAYA_INFRA_<KEY>``, endpoints as ``MAYA_*_URL``); a test then breaks one thing.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import config
from components.railway import operations as gql
from tests.fakes.checkly_api import FakeCheckly
from tests.fakes.github_api import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel

RAILWAY_TOKEN = "fake-railway-token"
GITHUB_TOKEN = "ghp_fakeclassictoken0000000000000000000000"
VERCEL_TOKEN = "fake-vercel-token"
DEPLOY_TOKEN = "fake-vercel-deploy-token"
TEAM = "team_maya"
SMTP_USER, SMTP_PASSWORD = "alerts@mayassistant.com", "smtp-secret-password"


# ---------------------------------------------------------------------------------------------- DNS


class DnsServer:
    """An authoritative answer for every name in ``records`` (name -> [(type, value)]); NXDOMAIN otherwise."""

    def __init__(self, records: dict[str, list[tuple[str, str]]]) -> None:
        self.records = records
        self.queries: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fake-dns")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            self.queries.append(f"{kind} {name}")
            known = self.records.get(name)
            if known is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                for rtype, value in known:
                    if rtype == kind:
                        target = value if rtype != "CNAME" or value.endswith(".") else value + "."
                        response.answer.append(dns.rrset.from_text(question.name, 300, "IN", rtype, target))
            self._sock.sendto(response.to_wire(), peer)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


# --------------------------------------------------------------------------------------------- SMTP


class _Accounts:
    """aiosmtpd's authenticator: one user and password (``refuse``: every AUTH fails, 535)."""

    def __init__(self) -> None:
        self.refuse = False
        self.attempts = 0

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.attempts += 1
        ok = (
            not self.refuse
            and isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        return AuthResult(success=ok, handled=False)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@functools.cache
def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made once per process (openssl), in a folder that lives as long."""
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


_CERT_FOLDER = Path(tempfile.mkdtemp(prefix="maya-preflight-tls-"))
atexit.register(shutil.rmtree, _CERT_FOLDER, True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Controller, _Accounts, _Mailbox, Path]]:
    """STARTTLS required before AUTH, on 127.0.0.1; yields (controller, accounts, mailbox, CA file)."""
    cert, key = _certificate(_CERT_FOLDER)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    accounts, mailbox = _Accounts(), _Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=accounts,
        auth_require_tls=True,
        ready_timeout=10,
    )
    controller.start()
    try:
        yield controller, accounts, mailbox, cert
    finally:
        controller.stop()


# -------------------------------------------------------------------------------------------- world


@dataclass
class World:
    stack: str
    cfg: config.StackConfig
    railway: FakeRailway
    github: FakeGitHub
    vercel: FakeVercel
    checkly: FakeCheckly
    dns: DnsServer
    smtp_accounts: _Accounts
    mailbox: _Mailbox
    env: dict[str, str] = field(default_factory=dict)

    def mutations(self) -> dict[str, int]:
        """Requests that asked for a change, per platform (what preflight must never send)."""
        return {
            "railway": self.railway.count(mutations_only=True),
            "github": self.github.writes(),
            "vercel": self.vercel.writes(),
            "checkly": self.checkly.writes(),
            "smtp messages": len(self.mailbox.messages),
        }


def dns_records(cfg: config.StackConfig) -> dict[str, list[tuple[str, str]]]:
    """DNS as it should be: Vercel's records for the frontend, Railway's CNAME for the backend's domain."""
    out: dict[str, list[tuple[str, str]]] = {}
    for domain in (*cfg.frontend.domains, *cfg.frontend.redirect_domains):
        apex = domain.count(".") == 1
        out[domain] = [("A", "76.76.21.21")] if apex else [("CNAME", "cname.vercel-dns.com"), ("A", "76.76.21.21")]
    if cfg.backend.custom_domain:
        out[cfg.backend.custom_domain] = [("CNAME", "backend-production.up.railway.app"), ("A", "66.33.22.11")]
    return out


def _seed_custom_domain(railway: FakeRailway, cfg: config.StackConfig, project_id: str) -> None:
    """The backend service and its custom domain, as the running MAYA has them (set-up requests, then forgotten)."""
    environment_id = railway.environment_id(project_id, cfg.environment)
    client = railway.dashboard()  # made by hand before maya-infra
    service = client.execute(gql.SERVICE_CREATE, {"input": {"projectId": project_id, "name": cfg.backend.service_name}})
    client.execute(
        gql.CUSTOM_DOMAIN_CREATE,
        {
            "input": {
                "projectId": project_id,
                "environmentId": environment_id,
                "serviceId": service["serviceCreate"]["id"],
                "domain": cfg.backend.custom_domain,
                "targetPort": cfg.backend.port,
            }
        },
    )
    railway.reset_counters()


@contextlib.contextmanager
def world(
    stack: str = "staging",
    *,
    team: bool = True,
    schema_path: Path | None = None,
    request_budget: int | None = 1000,
    seed_project: bool = True,
    custom_domain: bool = False,
) -> Iterator[World]:
    """``team``: the stack's frontend belongs to team ``TEAM`` (frontend.teamId, set on a copy of the config);
    False: the stack file as it is (no team), for runs through the command line. ``schema_path``: the schema the
    fake Railway serves (and introspects); ``request_budget``: its hourly limit (None: no limit, no headers);
    ``seed_project``: MAYA's Railway project runs already; ``custom_domain``: with its service and custom domain."""
    cfg = config.load_from_stack_file(stack)
    # the loopback fakes need no pacing: Railway's request-rate cap at its maximum keeps the tests quick
    cfg = cfg.model_copy(update={"railway": cfg.railway.model_copy(update={"requests_per_second": 50.0})})
    if team:
        cfg = cfg.model_copy(update={"frontend": cfg.frontend.model_copy(update={"team_id": TEAM})})
    with contextlib.ExitStack() as stack_of:
        folder = Path(stack_of.enter_context(tempfile.TemporaryDirectory(prefix="maya-preflight-")))
        railway = stack_of.enter_context(
            FakeRailway(token=RAILWAY_TOKEN, request_budget=request_budget, schema_path=schema_path)
        )
        if seed_project:
            project_id = railway.seed_project(cfg.backend.project_name, environment=cfg.environment)
            if custom_domain:
                _seed_custom_domain(railway, cfg, project_id)
        github = FakeGitHub(repos=[f"{cfg.github.owner}/{r}" for r in cfg.github.repositories])
        github.scopes = ("repo", "workflow", "read:org")
        stack_of.enter_context(github)
        vercel = stack_of.enter_context(FakeVercel(token=VERCEL_TOKEN, team_id=TEAM if team else None))
        project_id = vercel.add_project(cfg.frontend.project_name)
        vercel.add_token(DEPLOY_TOKEN, project=project_id)
        checkly = stack_of.enter_context(FakeCheckly())
        server = stack_of.enter_context(DnsServer(dns_records(cfg)))
        _controller, accounts, mailbox, ca_file = stack_of.enter_context(smtp_server())
        env = {
            "PATH": "/nonexistent",  # no pulumi CLI: every credential comes from MAYA_INFRA_*
            "HOME": str(folder),
            "MAYA_RAILWAY_API_URL": railway.url,
            "MAYA_GITHUB_API_URL": f"{github.base_url}/api/v3",
            "MAYA_VERCEL_API_URL": vercel.url,
            "MAYA_CHECKLY_API_URL": checkly.base_url,
            "MAYA_DNS_SERVER": server.address,
            "MAYA_SMTP_CA_FILE": str(ca_file),
            "MAYA_INFRA_RAILWAY_TOKEN": RAILWAY_TOKEN,
            "MAYA_INFRA_GITHUB_TOKEN": GITHUB_TOKEN,
            "MAYA_INFRA_VERCEL_TOKEN": VERCEL_TOKEN,
            "MAYA_INFRA_VERCEL_DEPLOY_TOKEN": DEPLOY_TOKEN,
            "MAYA_INFRA_CHECKLY_API_KEY": checkly.api_key,
            "MAYA_INFRA_CHECKLY_ACCOUNT_ID": checkly.account_id,
            "MAYA_INFRA_SMTP_URL": f"smtp://{quote(SMTP_USER)}:{SMTP_PASSWORD}@127.0.0.1:{_controller.port}",
            "PULUMI_BACKEND_URL": f"file://{folder / 'state'}",
        }
        (folder / "state").mkdir()
        yield World(stack, cfg, railway, github, vercel, checkly, server, accounts, mailbox, env)
