"""Pull-request previews: no production value reaches a preview (docs/previews.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from config import envvars
from policy.rules.model import (
    GH_ENV_SECRET,
    GH_ENV_VARIABLE,
    GH_ENVIRONMENT,
    PREVIEW_ENVIRONMENT,
    PREVIEWS_WORKFLOW,
    RAILWAY_PR_SETTINGS,
    RAILWAY_VARIABLES,
    VERCEL_BYPASS,
    VERCEL_ENV,
    Resource,
    StackFacts,
    _text,
    is_handed_off,
)
from policy.rules.workflows import workflow_document

_LIVE_STRIPE = re.compile(r"^(sk|rk)_live_")


_SHAPE_OPTION = re.compile(r"--(withhold|fresh) ([A-Za-z0-9_,]+)")


def _preview_shape(r: Resource) -> dict[str, set[str]] | None:
    """The ``--withhold``/``--fresh`` names of every run of the committed previews workflow (None: not it)."""
    path, document, _error = workflow_document(r)
    if path != PREVIEWS_WORKFLOW or document is None:
        return None
    shape: dict[str, set[str]] = {"withhold": set(), "fresh": set()}
    for job in (document.get("jobs") or {}).values():
        for step in (job or {}).get("steps") or []:
            run = str((step or {}).get("run") or "")
            if 'pr_preview.py" ' not in run or " up " not in f" {run} ":
                continue
            for option, names in _SHAPE_OPTION.findall(run):
                shape[option] |= set(names.split(","))
    return shape


def _preview_reachable(r: Resource) -> str | None:
    """What of a production stack a pull request's preview could read, or None."""
    environment = _text(r.get("environment"))
    if r.type in (GH_ENVIRONMENT, GH_ENV_SECRET, GH_ENV_VARIABLE) and environment == PREVIEW_ENVIRONMENT:
        name = r.get("secretName", "variableName") or PREVIEW_ENVIRONMENT
        return f"{r.type.rsplit(':', 1)[-1]} {name} in the {PREVIEW_ENVIRONMENT!r} GitHub environment"
    if r.type == VERCEL_ENV:
        targets = r.get("targets") or []
        if (isinstance(targets, list) and PREVIEW_ENVIRONMENT in targets) or _text(r.get("gitBranch")):
            return f"Vercel variable {r.get('key')} with a preview target"
    if r.type == VERCEL_BYPASS:  # its secret is sealed into the `preview` environment (docs/previews.md)
        return "a Vercel Protection Bypass for Automation"
    return None


def previews_get_no_production_secret(
    resources: Sequence[Resource], facts: StackFacts
) -> Iterator[tuple[str, str | None]]:
    """No production value reaches a pull request's preview (docs/previews.md)."""
    for r in resources:
        if r.type == RAILWAY_PR_SETTINGS and r.get("pr_deploys") is True:
            yield (
                f"Railway's own PR environments are on in {facts.stack!r}: each would fork the stack's environment "
                "with every secret, uncapped (previews come from the previews workflow; keep prDeploys off)",
                r.urn,
            )
        if facts.stack == "production" and not is_handed_off(r):  # staging's preview environment is staging's
            reachable = _preview_reachable(r)
            if reachable:
                yield f"production declares {reachable}: a pull request's preview could read it", r.urn
        shape = _preview_shape(r)
        if shape is not None:
            uses: tuple[tuple[envvars.PreviewUse, str], ...] = ((False, "withhold"), ("fresh", "fresh"))
            for use, option in uses:
                missing = sorted(set(envvars.preview_names(use)) - shape[option])
                if missing:
                    yield (
                        f"the previews workflow does not --{option} {', '.join(missing)} (config/envvars.py says "
                        f"previews={use!r}): re-render it (bash scripts/regenerate-workflows.sh)",
                        r.urn,
                    )
    # the stack forks previews: its config says so (its GitHub half may be declared by production, docs/trust.md),
    # else its own previews workflow and preview environment do
    has_previews = (
        facts.own.previews_active
        if facts.own is not None
        else any(_preview_shape(r) is not None for r in resources)
        and any(r.type == GH_ENVIRONMENT and _text(r.get("environment")) == PREVIEW_ENVIRONMENT for r in resources)
    )
    copied = set(envvars.preview_names(True))
    for r in resources if has_previews else ():
        variables = r.get("variables") if r.type == RAILWAY_VARIABLES else None
        if not isinstance(variables, Mapping):
            continue
        for name, value in variables.items():
            if name in copied and isinstance(value, str) and _LIVE_STRIPE.match(value):
                yield (
                    f"{name} is a live-mode Stripe key and would be copied to every preview: give this stack a "
                    f"test-mode key, or mark {name} previews=False in config/envvars.py",
                    r.urn,
                )
