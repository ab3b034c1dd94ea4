"""The two tables that name backend secrets agree: ``config.secrets.SECRETS`` (config key → variable) and
``config.envvars.TABLE`` (variable → targets and source). A secret added to one and not the other, or a
variable that reads another key than the secret spec says, fails here instead of in a deploy."""

from __future__ import annotations

from config import SECRETS
from config.envvars import TABLE, WIRING_FIELDS, ConfigSecret, Output, Wiring

SPECS = {spec.key: spec for spec in SECRETS}


def test_every_config_secret_source_is_a_declared_secret_of_the_same_variable() -> None:
    for var in TABLE:
        if isinstance(var.source, ConfigSecret):
            spec = SPECS.get(var.source.key)
            assert spec is not None, f"{var.name} reads maya-infra:{var.source.key}, which config.secrets lacks"
            assert spec.env_name == var.name, f"{var.name} reads {spec.key}, which config.secrets calls {spec.env_name}"
            assert var.secret, f"{var.name} comes from a secret and must be secret"


def test_every_secret_that_becomes_a_variable_is_in_the_table() -> None:
    names = {var.name for var in TABLE}
    for spec in SECRETS:
        if spec.env_name in names:
            rows = [v for v in TABLE if v.name == spec.env_name]
            assert all(v.secret for v in rows), f"{spec.env_name} is a secret in config.secrets but not in the table"


def test_outputs_name_wiring_fields_and_the_wiring_has_no_unused_field() -> None:
    used = {var.source.name for var in TABLE if isinstance(var.source, Output)}
    assert used <= WIRING_FIELDS
    assert set(Wiring.__dataclass_fields__) == WIRING_FIELDS
    assert used == WIRING_FIELDS, f"wiring fields no variable reads: {sorted(WIRING_FIELDS - used)}"


def test_no_variable_reaches_one_target_twice() -> None:
    """A name may serve several targets with different sources (FRONTEND_URL), but one target gets it once:
    a second row would be a second, possibly different, source for the same variable."""
    seen: dict[tuple[str, str], int] = {}
    for var in TABLE:
        for target in var.targets:
            seen[(var.name, target.name)] = seen.get((var.name, target.name), 0) + 1
    assert {key: n for key, n in seen.items() if n > 1} == {}
