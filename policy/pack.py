"""Every rule family of the pack, registered once: what ``pulumi preview --policy-pack policy`` enforces
(policy/__main__.py), what ``python -m ops audit`` reports, and what the tests call.

Families: :mod:`policy.rules` (data safety, secrets, workflows, protection, previews, monitoring) and
:mod:`policy.trust` (the blast radius of each credential, docs/trust.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from policy import rules, trust
from policy.rules import Policy, Resource, StackFacts, Violation, check_resource, check_stack

POLICIES: tuple[Policy, ...] = (*rules.POLICIES, *trust.POLICIES)
BY_NAME: Mapping[str, Policy] = {p.name: p for p in POLICIES}


def check_all(resources: Sequence[Resource], facts: StackFacts) -> list[Violation]:
    """Every violation of every policy of the pack: each resource, then the stack as a whole."""
    out = [v for r in resources for v in check_resource(r, POLICIES)]
    return out + check_stack(resources, facts, POLICIES)
