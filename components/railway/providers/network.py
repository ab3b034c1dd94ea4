"""Providers of the service's network: its railway.app domain and custom domains (with their DNS records)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from components.railway import operations as gql
from components.railway.providers.adoption import Extra, Runs
from components.railway.providers.base import HOST, RailwayProvider, is_unknown, service_scope
from components.railway.providers.schema import RailwayResource, output, parent, setting


class ServiceDomainProvider(RailwayProvider):
    """The service's ``*.up.railway.app`` domain, always with an explicit target port.

    Natural key: service + environment (Railway gives a service one such domain per environment).
    """

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        port = news.get("target_port")
        if port is not None and not is_unknown(port) and not (isinstance(port, int | float) and 1 <= port <= 65535):
            return [CheckFailure("target_port", "must be a port number between 1 and 65535")]
        return []

    def _domains(self, props: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.execute(
            gql.DOMAINS,
            service_scope(props),
        )["domains"]
        return result

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: service + environment (Railway gives a service one generated domain there)."""
        return list(self._domains(inputs)["serviceDomains"])

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return self._read(id_, inputs) if node is None else self._outputs(node)

    @staticmethod
    def _outputs(domain: Mapping[str, Any]) -> dict[str, Any]:
        return {"domain": domain["domain"], "url": f"https://{domain['domain']}", "target_port": domain["targetPort"]}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"of service {inputs['service_id']} in environment {inputs['environment_id']}",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(
                gql.SERVICE_DOMAIN_CREATE,
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
            gql.SERVICE_DOMAIN_UPDATE,
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
        self.client.execute(gql.SERVICE_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        found = next((d for d in self._domains(state)["serviceDomains"] if d["id"] == id_), None)
        return None if found is None else self._outputs(found)


class ServiceDomain(RailwayResource, provider=ServiceDomainProvider, adopt_key="serviceDomain"):
    """The service's ``*.up.railway.app`` domain, routed to ``target_port``."""

    project_id: pulumi.Input[str] = parent()
    service_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    target_port: pulumi.Input[int] = setting(required=True)
    domain: pulumi.Output[str] = output()
    url: pulumi.Output[str] = output()


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

    delete_before_replace = True  # a domain name can be attached only once

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        domain = news.get("domain")
        if isinstance(domain, str) and not is_unknown(domain) and not HOST.match(domain):
            return [CheckFailure("domain", f"{domain!r} is not a domain name (e.g. api.mayassistant.com)")]
        return []

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """Natural key: the host, on the service."""
        self._listed = self.client.execute(gql.DOMAINS, service_scope(inputs))["domains"]["customDomains"]
        return [d for d in self._listed if d["domain"] == inputs["domain"]]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return self._read(id_, inputs) if node is None else self._outputs(node)

    def extras(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> list[Extra]:
        others = [d for d in getattr(self, "_listed", []) if d["id"] != id_]
        return [Extra("customDomain", d["domain"], d["id"], "not declared; left alone") for d in others]

    @staticmethod
    def _outputs(domain: Mapping[str, Any]) -> dict[str, Any]:
        return {"domain": domain["domain"], "target_port": domain.get("targetPort"), **_dns_outputs(domain)}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['domain']!r}",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(
                gql.CUSTOM_DOMAIN_CREATE,
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
            gql.CUSTOM_DOMAIN_UPDATE,
            {"id": id_, "environmentId": news["environment_id"], "targetPort": int(port) if port else None},
        )
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.CUSTOM_DOMAIN_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        domain = self.client.execute(gql.CUSTOM_DOMAIN, {"id": id_, "projectId": state["project_id"]})["customDomain"]
        if domain.get("deletedAt"):  # Railway keeps a deleted domain readable by id for a while
            return None
        return self._outputs(domain)


class CustomDomain(RailwayResource, provider=CustomDomainProvider, adopt_key="customDomain"):
    """A custom domain (``backend.customDomain``); exports the DNS records to create and their status."""

    project_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    service_id: pulumi.Input[str] = parent()
    domain: pulumi.Input[str] = setting(replace=True, required=True)
    target_port: pulumi.Input[int] | None = setting(default=None)
    dns_records: pulumi.Output[list[dict[str, str]]] = output()
    verified: pulumi.Output[bool] = output()
    certificate_status: pulumi.Output[str] = output()
