"""Production's data cannot be lost by accident: which objects are protected, which are retained, and the
guard that makes ``pulumi destroy --stack production`` refuse before it deletes anything.

* ``protect`` on production's stateful and identity objects (Railway project, environment, backend service,
  PostgreSQL, custom domain; Vercel project and production domains; the GitHub production environment): the
  engine refuses to delete or replace them. A rename is an in-place update (the providers update names), so
  protection never stands in the way of an ordinary change.
* ``retain_on_delete`` where deleting would lose data or a name (the same objects in production, and every
  object ``ops adopt`` imported into any stack): when the stack stops declaring one, or is destroyed after a
  deliberate ``pulumi state unprotect``, the object stays where it is and only leaves the state.
* :class:`DestroyGuard`: a protected component of the production stack that depends on every resource of
  the stack. ``pulumi destroy`` deletes dependents first, so the guard is the first delete; the engine
  refuses it ("cannot be deleted because it is protected … `pulumi state unprotect …`") and, as a failed
  delete holds back everything it depends on, nothing else is deleted either.

Staging stays destroyable: nothing of it is protected or retained unless it was adopted.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from config import StackConfig

GUARD_TYPE = "maya:safety:DestroyGuard"
GUARD_NAME = "production-refuses-destroy"


def stateful(cfg: StackConfig, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """Options of a stateful or identity object: protected and retained in production, plain in staging."""
    guarded = pulumi.ResourceOptions(protect=cfg.is_production, retain_on_delete=cfg.is_production or None)
    return pulumi.ResourceOptions.merge(opts, guarded)


def adopted(cfg: StackConfig, resource_name: str, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
    """Options of a bridged (Vercel, GitHub) resource: imported and retained when ``ops adopt`` found it.

    The import id comes from ``maya-infra:adopt.imports``; an object the stack did not create is never
    deleted by it, so an adopted one is retained on delete in every stack.
    """
    import_id = cfg.adopt.import_id(resource_name)
    if import_id is None:
        return opts or pulumi.ResourceOptions()
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(import_=import_id, retain_on_delete=True))


class DestroyGuard(pulumi.ComponentResource):
    """Refuses ``pulumi destroy`` of the production stack before any object is deleted (see module doc).

    It holds no cloud object: deleting it deliberately (``pulumi state unprotect``, see README, "Protecting
    production's data") changes nothing outside the state.
    """

    def __init__(self, stack: str, guarded: Sequence[pulumi.Resource]) -> None:
        super().__init__(
            GUARD_TYPE,
            GUARD_NAME,
            None,
            pulumi.ResourceOptions(protect=True, depends_on=list(guarded)),
        )
        how = "docs/architecture.md, 'Protecting production's data'"
        self.register_outputs({"stack": stack, "how_to_destroy": how})
