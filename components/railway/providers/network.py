"""Providers of the service's network: its railway.app domain and custom domains (with their DNS records)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import CheckFailure

from components.railway import operations as ops
from components.railway.providers.base import (
    HOST,
    Field,
    RailwayProvider,
    is_unknown,
    service_scope,
)


class ServiceDomainProvider(RailwayProvider):
    """The service's ``*.up.railway.app`` domain, always with an explicit target port.

    Natural key: service + environment (Railway gives a service one such domain per environment).
    """

    kind = "ServiceDomain"
    fields = (
        Field("service_id", replace=True, required=True),
        Field("environment_id", replace=True, required=True),
        Field("project_id", replace=True, required=True),
        Field("target_port", required=True),
        Field("domain", output=True),
        Field("url", output=True),
    )

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        port = news.get("target_port")
        if port is not None and not is_unknown(port) and not (isinstance(port, int | float) and 1 <= port <= 65535):
            return [CheckFailure("target_port", "must be a port number between 1 and 65535")]
        return []

    def _domains(self, props: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.execute(
            ops.DOMAINS,
            service_scope(props),
        )["domains"]
        return result

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"of service {inputs['service_id']} in environment {inputs['environment_id']}",
            find=lambda: next(iter(self._domains(inputs)["serviceDomains"]), None),
            send=lambda: self.client.execute(
                ops.SERVICE_DOMAIN_CREATE,
                {
                    "input": {
                        "serviceId": inputs["service_id"],
                        "environmentId": inputs["environment_id"],
                        "targetPort": int(inputs["target_port"]),
                    }
                },
            )["serviceDomainCreate"],
        )
        domain = outcome.value
        computed = {"domain": domain["domain"], "url": f"https://{domain['domain']}", "origin": outcome.origin}
        if domain.get("targetPort") != int(inputs["target_port"]):  # adopted with another port: make it ours
            self._update(domain["id"], computed, inputs)
        return domain["id"], computed

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
    """A custom domain; exports the DNS records the user must create and the verification state.

    Natural key: the domain name (Railway attaches a name once). It is looked up on the service first.
    """

    kind = "CustomDomain"
    fields = (
        Field("project_id", replace=True, required=True),
        Field("environment_id", replace=True, required=True),
        Field("service_id", replace=True, required=True),
        Field("domain", replace=True, required=True),
        Field("target_port"),
        Field("dns_records", output=True),
        Field("verified", output=True),
        Field("certificate_status", output=True),
    )
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
                service_scope(inputs),
            )["domains"]["customDomains"]
            return next((d for d in domains if d["domain"] == inputs["domain"]), None)

        outcome = self.create_exactly_once(
            f"{inputs['domain']!r}",
            find=find,
            send=lambda: self.client.execute(
                ops.CUSTOM_DOMAIN_CREATE,
                {
                    "input": {
                        **service_scope(inputs),
                        "domain": inputs["domain"],
                        "targetPort": int(inputs["target_port"]) if inputs.get("target_port") else None,
                    }
                },
            )["customDomainCreate"],
        )
        return outcome.value["id"], {**_dns_outputs(outcome.value), "origin": outcome.origin}

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
        if domain.get("deletedAt"):  # Railway keeps a deleted domain readable by id for a while
            return None
        return {"domain": domain["domain"], "target_port": domain.get("targetPort"), **_dns_outputs(domain)}
