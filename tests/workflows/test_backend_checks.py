"""The backend build checks script: .env.example, importing the app, migration files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.scripts import backend_checks as bc

ENV_EXAMPLE = """\
# Backend settings
DATABASE_URL=postgresql://localhost/maya
export JWT_SECRET_KEY="change-me"
ENCRYPTION_KEY='x y'
PORT=8000  # uvicorn
not a line
"""


def test_parse_env_file() -> None:
    assert bc.parse_env_file(ENV_EXAMPLE) == {
        "DATABASE_URL": "postgresql://localhost/maya",
        "JWT_SECRET_KEY": "change-me",
        "ENCRYPTION_KEY": "x y",
        "PORT": "8000",
    }


def test_env_example_must_document_every_deployment_variable(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    example = tmp_path / ".env.example"
    example.write_text(ENV_EXAMPLE)
    assert bc.main(["env-example", str(example), "--require", "DATABASE_URL", "PORT"]) == 0
    assert bc.main(["env-example", str(example), "--require", "DATABASE_URL", "STRIPE_API_KEY"]) == 1
    assert "STRIPE_API_KEY is set on Railway by maya-infra but not documented" in capsys.readouterr().out
    assert bc.main(["env-example", str(tmp_path / "missing"), "--require", "PORT"]) == 1


@pytest.mark.parametrize(
    ("names", "applied", "problems"),
    [
        (["001_init.sql", "002_users.sql"], None, []),
        (["001_init.sql", "002_users.sql"], ["001", "002"], []),
        (["001_init.sql", "002_users.sql"], ["1"], ["002_users.sql: not recorded"]),
        (["001_init.sql", "001_again.sql"], None, ["001_init.sql: number 001 is already used by 001_again.sql"]),
        (["001_init.sql", "10_late.sql"], None, ["different widths"]),
        (["init.sql"], None, ["init.sql: not NNN_description.sql"]),
    ],
)
def test_migration_problems(names: list[str], applied: list[str] | None, problems: list[str]) -> None:
    found = bc.migration_problems(names, applied)
    assert len(found) == len(problems)
    for expected, actual in zip(problems, found, strict=True):
        assert expected in actual


def test_migrations_command(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    assert bc.main(["migrations", str(migrations)]) == 1  # no migrations at all is an error
    (migrations / "001_init.sql").write_text("select 1;")
    applied = tmp_path / "applied.txt"
    applied.write_text("001\n")
    assert bc.main(["migrations", str(migrations), "--applied", str(applied)]) == 0
    applied.write_text("")
    assert bc.main(["migrations", str(migrations), "--applied", str(applied)]) == 1


def test_import_app_with_settings_from_env_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "demoapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text("import os\nSECRET = os.environ['JWT_SECRET_KEY']\napp = object()\n")
    example = tmp_path / ".env.example"
    example.write_text(ENV_EXAMPLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    environ = {"JWT_SECRET_KEY": "from-ci"}
    monkeypatch.setattr(bc.os, "environ", environ)
    assert bc.main(["import-app", "demoapp.main:app", "--env-file", str(example)], environ) == 0
    assert environ["JWT_SECRET_KEY"] == "from-ci" and environ["PORT"] == "8000"  # existing values win
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        bc.import_app("demoapp.main:missing")
