"""Providers of the service's network: its railway.app domain and custom domains (with their DNS records)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from components.railway import operations as ops
from components.railway.providers.base import (
    HOST,
    RailwayProvider,
    is_unknown,
)


class ServiceDomainProvider(RailwayProvider):
    """The service's ``*.up.railway.app`` domain, always with an explicit target port."""

    kind = "ServiceDomain"
    input_keys = ("service_id", "environment_id", "project_id", "target_port")
    replace_keys = frozenset({"service_id", "environment_id", "project_id"})
    required_keys = ("service_id", "environment_id", "project_id", "target_port")

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        port = news.get("target_port")
        if port is not None and not is_unknown(port) and not (isinstance(port, int | float) and 1 <= port <= 65535):
            return [CheckFailure("target_port", "must be a port number between 1 and 65535")]
        return []

    def _domains(self, props: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.execute(
            ops.DOMAINS,
            {
                "projectId": props["project_id"],
                "environmentId": props["environment_id"],
                "serviceId": props["service_id"],
            },
        )["domains"]
        return result

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        domain = self.create_once(
            lambda: self.client.execute(
                ops.SERVICE_DOMAIN_CREATE,
                {
                    "input": {
                        "serviceId": inputs["service_id"],
                        "environmentId": inputs["environment_id"],
                        "targetPort": int(inputs["target_port"]),
                    }
                },
            )["serviceDomainCreate"],
            lambda: next(iter(self._domains(inputs)["serviceDomains"]), None),
        )
        return domain["id"], {"domain": domain["domain"], "url": f"https://{domain['domain']}"}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(
            ops.SERVICE_DOMAIN_UPDATE,
            {
                "input": {
                    "serviceDomainId": id_,
                    "domain": olds["domain"],
                    "environmentId": news["environment_id"],
                    "serviceId": news["service_id"],
                    "targetPort": int(news["target_port"]),
                }
            },
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.SERVICE_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = next((d for d in self._domains(state)["serviceDomains"] if d["id"] == id_), None)
        if found is None:
            return None
        return {"domain": found["domain"], "url": f"https://{found['domain']}", "target_port": found["targetPort"]}


def _dns_outputs(domain: Mapping[str, Any]) -> dict[str, Any]:
    status = domain.get("status") or {}
    records = [
        {
            "type": str(r.get("recordType", "")).removeprefix("DNS_RECORD_TYPE_"),
            "host": r.get("hostlabel"),
            "fqdn": r.get("fqdn"),
            "value": r.get("requiredValue"),
            "status": str(r.get("status") or "").removeprefix("DNS_RECORD_STATUS_"),
        }
        for r in status.get("dnsRecords") or []
    ]
    if status.get("verificationDnsHost") and status.get("verificationToken"):
        records.append(
            {
                "type": "TXT",
                "host": status["verificationDnsHost"],
                "fqdn": None,
                "value": status["verificationToken"],
                "status": "VERIFICATION",
            }
        )
    return {
        "dns_records": records,
        "verified": bool(status.get("verified")),
        "certificate_status": str(status.get("certificateStatus") or "").removeprefix("CERTIFICATE_STATUS_TYPE_"),
    }


class CustomDomainProvider(RailwayProvider):
    """A custom domain; exports the DNS records the user must create and the verification state."""

    kind = "CustomDomain"
    input_keys = ("project_id", "environment_id", "service_id", "domain", "target_port")
    replace_keys = frozenset({"project_id", "environment_id", "service_id", "domain"})
    required_keys = ("project_id", "environment_id", "service_id", "domain")
    delete_before_replace = True  # a domain name can be attached only once

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        domain = news.get("domain")
        if isinstance(domain, str) and not is_unknown(domain) and not HOST.match(domain):
            return [CheckFailure("domain", f"{domain!r} is not a domain name (e.g. api.mayassistant.com)")]
        return []

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        def find() -> dict[str, Any] | None:
            domains = self.client.execute(
                ops.DOMAINS,
                {
                    "projectId": inputs["project_id"],
                    "environmentId": inputs["environment_id"],
                    "serviceId": inputs["service_id"],
                },
            )["domains"]["customDomains"]
            return next((d for d in domains if d["domain"] == inputs["domain"]), None)

        domain = self.create_once(
            lambda: self.client.execute(
                ops.CUSTOM_DOMAIN_CREATE,
                {
                    "input": {
                        "projectId": inputs["project_id"],
                        "environmentId": inputs["environment_id"],
                        "serviceId": inputs["service_id"],
                        "domain": inputs["domain"],
                        "targetPort": int(inputs["target_port"]) if inputs.get("target_port") else None,
                    }
                },
            )["customDomainCreate"],
            find,
        )
        return domain["id"], _dns_outputs(domain)

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        port = news.get("target_port")
        self.client.execute(
            ops.CUSTOM_DOMAIN_UPDATE,
            {"id": id_, "environmentId": news["environment_id"], "targetPort": int(port) if port else None},
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(ops.CUSTOM_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        domain = self.client.execute(ops.CUSTOM_DOMAIN, {"id": id_, "projectId": state["project_id"]})["customDomain"]
        return {"domain": domain["domain"], "target_port": domain.get("targetPort"), **_dns_outputs(domain)}
