"""maya-infra's CrossGuard policy pack (``pulumi preview --policy-pack policy``).

:mod:`policy.rules` holds every rule as a plain function (also used by ``python -m ops audit``);
:mod:`policy.credentials` says what a credential is; ``policy/__main__.py`` only builds the PolicyPack.
See docs/audit.md.
"""
