"""Checkly and SMTP, when the stack has them: the credentials are accepted, nothing is created or sent.

* Checkly (``checklyApiKey`` + ``checklyAccountId``, when the stack's monitoring uses Checkly): one
  ``GET /v1/checks?limit=1`` with the key and the account header.
* SMTP (``smtpUrl``): connect, TLS (``smtps://``: implicit; ``smtp://``: STARTTLS, required — the pipelines'
  ``curl --ssl-reqd`` refuses a server without it), EHLO, AUTH with the URL's credentials, QUIT. No MAIL FROM,
  no message. ``MAYA_SMTP_CA_FILE`` adds a CA bundle to trust (a private relay; the tests' own server).
"""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import unquote, urlsplit

import httpx

from config import NAMESPACE
from ops.preflight.context import Run
from ops.preflight.readonly import read_only_client
from ops.preflight.report import Check, failed, passed, skipped


def _configured(run: Run, key: str) -> bool:
    from ops.preflight.context import env_name

    return key in run.cfg.declared_secrets or key in run.cfg.secrets or bool(run.env.get(env_name(key)))


def checkly(run: Run) -> list[Check]:
    if not run.cfg.uses_checkly:
        return [skipped("checkly", "the stack's monitoring does not use Checkly")]
    key, why_key = run.secrets.get("checklyApiKey")
    account, why_account = run.secrets.get("checklyAccountId")
    if key is None or account is None:
        return [failed("checkly", "the Checkly account is incomplete", why_key or why_account)]
    headers = {"Authorization": f"Bearer {key}", "X-Checkly-Account": account, "User-Agent": "maya-infra-preflight/1"}
    fix = (
        f"create an API key of account {account} (Checkly → User settings → API keys) and "
        f"`pulumi config set --secret {NAMESPACE}:checklyApiKey --stack {run.stack}` (and checklyAccountId)"
    )
    try:
        with read_only_client("checkly", run.ledger, run.checkly_url(), headers, timeout=run.timeout) as c:
            answer = c.get("/v1/checks", params={"limit": 1})
    except httpx.HTTPError as exc:
        return [failed("checkly", f"Checkly did not answer ({type(exc).__name__})", "check the network and re-run")]
    if answer.status_code == 200:
        return [passed("checkly", f"API key accepted for account {account}")]
    return [failed("checkly", f"Checkly refused the API key or account (HTTP {answer.status_code})", fix)]


def _tls_context(run: Run) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca_file = run.env.get("MAYA_SMTP_CA_FILE")
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def smtp(run: Run) -> list[Check]:
    if not _configured(run, "smtpUrl"):
        return [skipped("smtp", f"the stack has no {NAMESPACE}:smtpUrl")]
    url, why = run.secrets.get("smtpUrl")
    if url is None:
        return [failed("smtp", "no SMTP URL", why)]
    parts = urlsplit(url)
    host = parts.hostname or ""
    setter = f"pulumi config set --secret {NAMESPACE}:smtpUrl --stack {run.stack}"
    if parts.scheme not in ("smtp", "smtps") or not host:
        return [failed("smtp", "smtpUrl is not an smtp:// or smtps:// URL with a host", setter)]
    implicit = parts.scheme == "smtps"
    port = parts.port or (465 if implicit else 587)
    where = f"{host}:{port}"
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    context = _tls_context(run)
    step = "connect"
    try:
        server: smtplib.SMTP
        if implicit:
            server = smtplib.SMTP_SSL(host, port, timeout=run.timeout, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=run.timeout)
        with server:
            step = "EHLO"
            server.ehlo()
            if not implicit:
                if not server.has_extn("starttls"):
                    return [
                        failed(
                            "smtp",
                            f"{where} offers no STARTTLS: the credentials would travel in clear "
                            "(curl --ssl-reqd refuses)",
                            f"use the server's TLS port (smtps://…:465, or STARTTLS on 587): {setter}",
                        )
                    ]
                step = "STARTTLS"
                server.starttls(context=context)
                server.ehlo()
            if user:
                step = "AUTH"
                server.login(user, password)
            step = "QUIT"
        tls = "implicit TLS" if implicit else "STARTTLS"
        authed = f"AUTH as {user} accepted" if user else "no credentials in the URL (no AUTH tried)"
        return [passed("smtp", f"{where}: {tls}, {authed}; no mail sent")]
    except smtplib.SMTPAuthenticationError as exc:
        said = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return [
            failed(
                "smtp",
                f"{where} refused AUTH for {user}: {exc.smtp_code} {said[:120]}",
                f"fix the credentials: {setter}",
            )
        ]
    except ssl.SSLError as exc:
        return [
            failed("smtp", f"{where}: TLS failed at {step} ({exc.reason or exc})", f"check the host and port: {setter}")
        ]
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        return [
            failed(
                "smtp",
                f"{where}: {step} failed ({type(exc).__name__}: {str(exc)[:120]})",
                f"check the host and port: {setter}",
            )
        ]
