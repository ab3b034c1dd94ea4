"""DNS of the custom domains: what each points at today, and what Railway or Vercel will ask for.

Frontend domains (``frontend.domains``, ``.redirectDomains``) are Vercel's: what Vercel recommends comes from
``GET /v6/domains/{domain}/config`` (read by the Vercel checks), else Vercel's documented defaults (an apex:
``A 76.76.21.21``; a subdomain: ``CNAME cname.vercel-dns.com``). The backend's ``backend.customDomain`` is
Railway's: its required records come from the domain's status when it already exists on Railway; otherwise
Railway names its CNAME target only when ``up`` creates it (stack output ``backend_custom_domain_dns_records``).

A domain pointing elsewhere is a warning, not a failure: MAYA runs today, and moving DNS is the operator's
step of the takeover (certificates are issued once the records match). ``--dns-server HOST[:PORT]`` (or
``MAYA_DNS_SERVER``) picks the resolver; the tests run one on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from ops.preflight.context import Run
from ops.preflight.report import Check, passed, skipped, warned

VERCEL_APEX_A = "76.76.21.21"
VERCEL_CNAME = "cname.vercel-dns.com"


def resolver(run: Run) -> dns.resolver.Resolver:
    server = run.dns_server or run.env.get("MAYA_DNS_SERVER")
    if not server:
        res = dns.resolver.Resolver()
    else:
        res = dns.resolver.Resolver(configure=False)
        host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
        res.nameservers = [host or server]
        if port:
            res.port = int(port)
    res.lifetime = min(run.timeout, 5.0)
    res.timeout = min(run.timeout, 5.0)
    return res


def _strip(name: str) -> str:
    return name.rstrip(".").lower()


def looked_up(res: dns.resolver.Resolver, domain: str) -> tuple[list[str], list[str], str]:
    """(CNAME targets, A addresses, problem) for ``domain`` today."""
    cnames: list[str] = []
    addresses: list[str] = []
    try:
        answer = res.resolve(domain, "CNAME", raise_on_no_answer=False)
        cnames = [_strip(r.target.to_text()) for r in answer] if answer.rrset is not None else []
    except dns.resolver.NXDOMAIN:
        return [], [], "does not exist (NXDOMAIN)"
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
        return [], [], f"could not be resolved ({type(exc).__name__})"
    try:
        answer = res.resolve(domain, "A", raise_on_no_answer=False)
        addresses = sorted(r.address for r in answer) if answer.rrset is not None else []
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout):
        addresses = []
    return cnames, addresses, ""


def _today(cnames: Sequence[str], addresses: Sequence[str], problem: str) -> str:
    if problem:
        return problem
    parts = [f"CNAME {', '.join(cnames)}"] if cnames else []
    if addresses:
        parts.append(f"A {', '.join(addresses)}")
    return " / ".join(parts) or "no CNAME or A record"


def _vercel_wants(domain: str, config: Mapping[str, Any] | None) -> tuple[str, str]:
    """("CNAME"|"A", value) Vercel will ask for."""
    apex = len(dns.name.from_text(domain).labels) <= 3  # "mayassistant.com." has 3 labels with the root
    if config:
        key, kind = ("recommendedIPv4", "A") if apex else ("recommendedCNAME", "CNAME")
        ranked = sorted(config.get(key) or [], key=lambda r: r.get("rank", 0))
        if ranked:
            value = ranked[0].get("value")
            value = value[0] if isinstance(value, list) and value else value
            if isinstance(value, str) and value:
                return kind, _strip(value)
    return ("A", VERCEL_APEX_A) if apex else ("CNAME", VERCEL_CNAME)


def checks(run: Run) -> list[Check]:
    cfg = run.cfg
    domains: list[tuple[str, str]] = []
    if "vercel" in cfg.platforms:
        domains += [(d, "vercel") for d in (*cfg.frontend.domains, *cfg.frontend.redirect_domains)]
    if "railway" in cfg.platforms and cfg.backend.custom_domain:
        domains.append((cfg.backend.custom_domain, "railway"))
    if not domains:
        return [skipped("dns", "no custom domain on a declared platform")]
    res = resolver(run)
    out: list[Check] = []
    vercel_configs: Mapping[str, Any] = run.notes.get("vercel.domains") or {}
    railway_records = run.notes.get("railway.domain_records")
    for domain, platform in domains:
        cnames, addresses, problem = looked_up(res, domain)
        today = _today(cnames, addresses, problem)
        name = f"dns {domain}"
        if platform == "vercel":
            kind, value = _vercel_wants(domain, vercel_configs.get(domain))
            matches = value in (cnames if kind == "CNAME" else addresses)
            wants = f"Vercel asks for {kind} {value}"
        else:
            wanted = [
                (str(r.get("recordType", "")).replace("DNS_RECORD_TYPE_", ""), _strip(str(r.get("requiredValue", ""))))
                for r in railway_records or []
                if str(r.get("recordType", "")).endswith("CNAME")
            ]
            if not wanted:
                out.append(
                    warned(
                        name,
                        f"today: {today}; Railway names the CNAME target when `up` creates the domain",
                        "after `up`: create the records of the stack output backend_custom_domain_dns_records",
                    )
                )
                continue
            kind, value = wanted[0]
            matches = value in cnames
            wants = f"Railway asks for {kind} {value}"
        if problem.startswith("could not be resolved"):
            out.append(warned(name, f"today: {today}; {wants}", "check the resolver (--dns-server) and re-run"))
        elif matches:
            out.append(passed(name, f"today: {today}; {wants}: it matches"))
        else:
            out.append(
                warned(
                    name,
                    f"today: {today}; {wants}",
                    f"when MAYA is to move: set {domain} {kind} {value} at the DNS host (certificates follow)",
                )
            )
    return out
