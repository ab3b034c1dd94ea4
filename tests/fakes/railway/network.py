"""Mutations of service domains, custom domains and TCP proxies."""

from __future__ import annotations

import re
import secrets
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import _mutation, _now, _slug, _uid


class NetworkMixin:
    """Mutations of service domains, custom domains and TCP proxies."""

    # ---- domains
    @_mutation("serviceDomainCreate")
    def _m_service_domain_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        sid, eid = input["serviceId"], input["environmentId"]
        self._get_instance(sid, eid)
        svc = self.state.services[sid]
        taken = {d["domain"] for d in self.state.service_domains.values()}
        while True:
            domain = f"{_slug(svc['name'])}-{secrets.token_hex(2)}.up.railway.app"
            if domain not in taken:
                break
        now = _now()
        d: dict[str, Any] = {
            "id": _uid(),
            "domain": domain,
            "suffix": "up.railway.app",
            "targetPort": input.get("targetPort"),
            "environmentId": eid,
            "serviceId": sid,
            "projectId": svc["projectId"],
            "syncStatus": "ACTIVE",
            "cdnMode": None,
            "edgeId": None,
            "newDomainName": None,
            "newHostLabel": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "_seq": self._next_seq(),
        }
        self._domain_created(d)  # CREATING until Railway's edge has it (asynchrony.py)
        self.state.service_domains[d["id"]] = d
        return self._v_service_domain(d)

    @_mutation("serviceDomainUpdate")
    def _m_service_domain_update(self, info: Any, input: dict[str, Any]) -> bool:
        d = self._get(self.state.service_domains, input["serviceDomainId"], "Service domain not found")
        if d["serviceId"] != input["serviceId"] or d["environmentId"] != input["environmentId"]:
            raise GraphQLError("Service domain not found")
        domain = input["domain"].strip().lower()
        if not domain.endswith(".up.railway.app") or not re.match(
            r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", domain[: -len(".up.railway.app")]
        ):
            raise GraphQLError("Invalid domain")
        if any(o["domain"] == domain and o["id"] != d["id"] for o in self.state.service_domains.values()):
            raise GraphQLError("Domain is not available")
        d["domain"] = domain
        if "targetPort" in input:
            d["targetPort"] = input["targetPort"]
        d["updatedAt"] = _now()
        return True

    @_mutation("serviceDomainDelete")
    def _m_service_domain_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.service_domains, id, "Service domain not found")
        self._tombstone("service_domains", self.state.service_domains.pop(id))
        return True

    @_mutation("customDomainCreate")
    def _m_custom_domain_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        pid, eid, sid = input["projectId"], input["environmentId"], input["serviceId"]
        self._get_project(pid)
        self._get_env(eid, pid)
        self._get_service(sid, pid)
        self._get_instance(sid, eid)
        domain = input["domain"].strip().lower().rstrip(".")
        labels = domain.split(".")
        if len(labels) < 2 or not all(re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", lab) for lab in labels):
            raise GraphQLError("Invalid domain")
        if domain.endswith(".railway.app"):
            raise GraphQLError("Invalid domain")
        if any(o["domain"] == domain for o in self.state.custom_domains.values()):
            raise GraphQLError("Domain is not available")
        zone = ".".join(labels[-2:])
        hostlabel = ".".join(labels[:-2]) or "@"
        target = f"{secrets.token_hex(4)}.up.railway.app"
        now = _now()
        cd: dict[str, Any] = {
            "id": _uid(),
            "domain": domain,
            "targetPort": input.get("targetPort"),
            "environmentId": eid,
            "serviceId": sid,
            "projectId": pid,
            "syncStatus": "ACTIVE",
            "cdnMode": None,
            "edgeId": None,
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "status": {
                "verified": False,
                "verificationDnsHost": f"_railway-verify.{hostlabel}" if hostlabel != "@" else "_railway-verify",
                "verificationToken": f"railway-verify={secrets.token_hex(16)}",
                "certificateStatus": "CERTIFICATE_STATUS_TYPE_VALIDATING_OWNERSHIP",
                "certificateStatusDetailed": None,
                "certificateErrorMessage": None,
                "certificateErrorType": None,
                "certificateRetryable": None,
                "certificates": None,
                "cdnProvider": None,
                "dnsRecords": [
                    {
                        "recordType": "DNS_RECORD_TYPE_CNAME",
                        "hostlabel": hostlabel,
                        "fqdn": domain,
                        "zone": zone,
                        "requiredValue": target,
                        "currentValue": "",
                        "status": "DNS_RECORD_STATUS_REQUIRES_UPDATE",
                        "purpose": "DNS_RECORD_PURPOSE_TRAFFIC_ROUTE",
                    }
                ],
            },
            "_seq": self._next_seq(),
        }
        self._domain_created(cd)
        self.state.custom_domains[cd["id"]] = cd
        return self._v_custom_domain(cd)

    @_mutation("customDomainUpdate")
    def _m_custom_domain_update(self, info: Any, id: str, environmentId: str, targetPort: int | None = None) -> bool:
        cd = self._get(self.state.custom_domains, id, "Custom domain not found")
        if cd["environmentId"] != environmentId:
            raise GraphQLError("Custom domain not found")
        cd["targetPort"] = targetPort
        cd["updatedAt"] = _now()
        return True

    @_mutation("customDomainDelete")
    def _m_custom_domain_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.custom_domains, id, "Custom domain not found")
        self._tombstone("custom_domains", self.state.custom_domains.pop(id))
        return True

    # ---- tcp proxies
    @_mutation("tcpProxyCreate")
    def _m_tcp_proxy_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        sid, eid = input["serviceId"], input["environmentId"]
        self._get_instance(sid, eid)
        used = {p["proxyPort"] for p in self.state.tcp_proxies.values()}
        port = 10000 + secrets.randbelow(50000)
        while port in used:
            port = 10000 + secrets.randbelow(50000)
        now = _now()
        p: dict[str, Any] = {
            "id": _uid(),
            "domain": "shuttle.proxy.rlwy.net",
            "proxyPort": port,
            "applicationPort": input["applicationPort"],
            "environmentId": eid,
            "serviceId": sid,
            "syncStatus": "ACTIVE",
            "createdAt": now,
            "updatedAt": now,
            "deletedAt": None,
            "_seq": self._next_seq(),
        }
        self.state.tcp_proxies[p["id"]] = p
        return {k: v for k, v in p.items() if not k.startswith("_")}

    @_mutation("tcpProxyDelete")
    def _m_tcp_proxy_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.tcp_proxies, id, "TCP proxy not found")
        del self.state.tcp_proxies[id]
        return True
