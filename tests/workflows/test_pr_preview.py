"""The preview of a pull request (workflows/scripts/pr_preview.py) against the fake Railway, Vercel and GitHub:
open → an ephemeral fork with its own database + the branch's API URL → one comment; push → one redeploy;
close → everything removed; the cap; every Railway create exactly once."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import graphql
import pytest

from config import PROJECT_DIR
from tests.workflows.preview_world import JWT_STAGING, STRIPE_STAGING, World, world
from workflows.scripts import pr_preview as pp

SCHEMA = PROJECT_DIR / "tests" / "railway" / "schema.graphql"
SHA1, SHA2 = "a" * 40, "b" * 40
SHAPE = ["--withhold", "STRIPE_API_KEY", "--fresh", "JWT_SECRET_KEY", "--max-environments", "2"]


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True)


@pytest.mark.parametrize("document", pp.DOCUMENTS)
def test_documents_validate_against_railways_schema(document: str) -> None:
    assert graphql.validate(schema(), graphql.parse(document)) == []


def _up(
    w: World,
    pr: int,
    sha: str,
    branch: str = "feat/x",
    shape: list[str] | None = None,
    queue: float = 0,
    clients: pp.Clients | None = None,
) -> int:
    w.open_pull_request(pr)  # opened (or pushed to): the workflow runs on a pull request that exists
    argv = [*(SHAPE if shape is None else shape), "up", "--pr", str(pr), "--branch", branch, "--sha", sha]
    argv += ["--poll", "0", "--timeout", "5", "--queue", str(queue)]
    return pp.main(argv, w.env(), clients or w.clients())


def _down(w: World, pr: int, branch: str = "feat/x") -> int:
    return pp.main([*SHAPE, "down", "--pr", str(pr), "--branch", branch], w.env(), w.clients())


def _comments(w: World, pr: int) -> list[dict[str, Any]]:
    return [c for c in w.github.comments.values() if c["issue"].endswith(f"#{pr}")]


def test_open_creates_an_ephemeral_fork_with_its_own_database_and_wires_the_frontend(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with world() as w:
        assert _up(w, 12, SHA1) == 0
        previews = w.environments()
        assert list(previews) == ["pr-12"]
        env = previews["pr-12"]
        assert env["sourceEnvironmentId"] == w.staging_id
        eid = env["id"]
        api = w.railway
        with api._lock:
            # its own, empty PostgreSQL volume; staging's keeps its own
            volumes = {vi["environmentId"]: vi for vi in api.state.volume_instances.values()}
            assert volumes[eid]["id"] != volumes[w.staging_id]["id"] and volumes[eid]["currentSizeMB"] == 0
            # same settings as staging: the same migrations command runs before each deploy
            instance = api.state.instances[(w.backend_id, eid)]
            assert instance["preDeployCommand"] == ["python apply_migration.py"]
            assert instance["sleepApplication"] is True
            assert not api._triggers_of(w.backend_id, eid)  # the script deploys the PR's commit, not a branch
        backend_vars = w.variables(eid, w.backend_id)
        assert "STRIPE_API_KEY" not in backend_vars and backend_vars["ENVIRONMENT"] == "staging"
        assert backend_vars["JWT_SECRET_KEY"] not in ("", JWT_STAGING)  # its own signing key
        assert backend_vars["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"  # resolves inside the preview
        assert w.variables(w.staging_id, w.backend_id)["STRIPE_API_KEY"] == STRIPE_STAGING  # staging untouched
        pg, pg_staging = w.variables(eid, w.postgres_id), w.variables(w.staging_id, w.postgres_id)
        assert pg["PGPASSWORD"] != pg_staging["PGPASSWORD"] and pg["MAYA_PREVIEW"] == "pr-12"
        [deployment] = w.deployments(eid, w.backend_id)
        assert deployment["meta"]["commitHash"] == SHA1 and deployment["status"] == "SUCCESS"
        assert len(w.deployments(eid, w.postgres_id)) == 1
        with api._lock:
            [domain] = api._service_domains_of(w.backend_id, eid)
        backend_url = f"https://{domain['domain']}"
        # the branch's previews call THIS backend, and one preview was built with it
        [variable] = w.vercel.envs.values()
        assert (variable["key"], variable["value"]) == ("NEXT_PUBLIC_API_URL", backend_url)
        assert variable["gitBranch"] == "feat/x"
        assert variable["target"] == ["preview"]
        [build] = [d for d in w.vercel.deployments.values() if d["target"] == "preview"]
        assert build["build_env"] == {"NEXT_PUBLIC_API_URL": backend_url}
        assert w.probed == [f"{backend_url}/api/health"]
        [comment] = _comments(w, 12)
        assert backend_url in comment["body"] and build["url"] in comment["body"]
        assert "healthy" in comment["body"] and "`STRIPE_API_KEY`" in comment["body"]
        assert pp.MARKER in comment["body"]
        assert not api.invalid_documents and not api.unimplemented and not api.internal_errors
    out = capsys.readouterr().out
    assert STRIPE_STAGING not in out and JWT_STAGING not in out


def test_a_push_redeploys_once_and_updates_the_one_comment() -> None:
    with world() as w:
        assert _up(w, 12, SHA1) == 0
        eid = w.environments()["pr-12"]["id"]
        builds = len(w.vercel.deployments)
        w.railway.reset_counters()
        assert _up(w, 12, SHA2) == 0
        assert w.railway.count(mutations_only=True) == 1  # serviceInstanceDeployV2, nothing else
        assert w.railway.count("PreviewDeploy") == 1
        assert [d["meta"]["commitHash"] for d in w.deployments(eid, w.backend_id)].count(SHA2) == 1
        assert len(w.vercel.deployments) == builds  # the branch variable did not change: Vercel's Git build suffices
        [comment] = _comments(w, 12)
        assert SHA2[:12] in comment["body"]
        # A re-run of the same event changes nothing on Railway.
        w.railway.reset_counters()
        assert _up(w, 12, SHA2) == 0
        assert w.railway.count(mutations_only=True) == 0
        assert len(_comments(w, 12)) == 1


def test_close_removes_everything_and_a_second_close_is_harmless() -> None:
    with world() as w:
        assert _up(w, 12, SHA1) == 0
        eid = w.environments()["pr-12"]["id"]
        assert _down(w, 12) == 0
        assert w.environments() == {}
        with w.railway._lock:
            assert not [vi for vi in w.railway.state.volume_instances.values() if vi["environmentId"] == eid]
            assert not [d for d in w.railway.state.deployments.values() if d["environmentId"] == eid]
        assert w.vercel.envs == {}
        [comment] = _comments(w, 12)
        assert "Preview removed" in comment["body"] and "pr-12" in comment["body"]
        w.railway.reset_counters()
        assert _down(w, 12) == 0
        assert w.railway.count(mutations_only=True) == 0
        # staging is intact
        assert w.environments(ephemeral=False)["staging"]["id"] == w.staging_id
        assert w.deployments(w.staging_id, w.backend_id)


def test_the_cap_is_enforced_and_said_in_the_comment() -> None:
    with world() as w:
        assert _up(w, 1, SHA1, "one") == 0
        assert _up(w, 2, SHA1, "two") == 0
        w.railway.reset_counters()
        # no slot after waiting in line: the preview job fails, so the required preview-e2e check cannot pass
        # on a pull request nothing was tested for; the comment explains
        assert _up(w, 3, SHA1, "three") == 1
        assert sorted(w.environments()) == ["pr-1", "pr-2"]
        assert w.railway.count(mutations_only=True) == 0
        [comment] = _comments(w, 3)
        assert "cap of 2" in comment["body"] and "--prune-older-than" in comment["body"]
        assert _down(w, 1, "one") == 0
        assert _up(w, 3, SHA1, "three") == 0
        assert sorted(w.environments()) == ["pr-2", "pr-3"]


def test_at_the_cap_a_pull_request_waits_in_line_for_a_slot() -> None:
    with world() as w:
        assert _up(w, 1, SHA1, "one") == 0
        assert _up(w, 2, SHA1, "two") == 0
        waits: list[float] = []

        def meanwhile(seconds: float) -> None:  # while #3 waits, #1 is closed: its slot frees
            waits.append(seconds)
            if len(waits) == 1:
                assert _down(w, 1, "one") == 0

        clients = dataclasses.replace(w.clients(), sleep=meanwhile)
        assert _up(w, 3, SHA1, "three", queue=600, clients=clients) == 0
        assert sorted(w.environments()) == ["pr-2", "pr-3"] and len(waits) >= 1


def test_a_run_that_races_past_the_cap_removes_what_it_created() -> None:
    with world() as w:
        clients = w.clients()
        real = clients.railway.__call__

        def racing(document: str, variables: Any) -> dict[str, Any]:
            if document == pp.ENVIRONMENT_CREATE:  # another PR's run creates its environment first
                with w.railway._lock:
                    w.railway._create_environment(w.project_id, "pr-7", source_env_id=w.staging_id, ephemeral=True)
            return real(document, variables)

        clients.railway = _Wrapped(racing)  # type: ignore[assignment]
        target = pp.Target(w.project_id, w.staging_id, w.backend_id, max_environments=1)
        admission = pp.admit(clients.railway, target, 8)
        assert admission.preview is None and "cap of 1" in admission.reason
        assert list(w.environments()) == ["pr-7"]


class _Wrapped:
    def __init__(self, call: Any) -> None:
        self._call = call

    def __call__(self, document: str, variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call(document, variables)
        return result


@pytest.mark.parametrize("fault", ["drop_after", "drop"])
@pytest.mark.parametrize("operation", ["PreviewEnvironmentCreate", "PreviewDeploy", "PreviewDomainCreate"])
def test_a_create_whose_answer_is_lost_is_looked_up_before_it_is_sent_again(fault: str, operation: str) -> None:
    with world() as w:
        w.railway.inject(fault, match=operation)
        assert _up(w, 12, SHA1) == 0
        [env] = w.environments().values()
        sends = 2 if operation == "PreviewDeploy" else 1  # the database's first deploy, then the backend's
        # after "drop_after" it landed: the script found it and did not resend; after "drop" it did not: one resend
        assert w.railway.count(operation) == sends + (0 if fault == "drop_after" else 1)
        assert len([d for d in w.deployments(env["id"], w.backend_id) if d["meta"].get("commitHash") == SHA1]) == 1
        assert len(w.deployments(env["id"], w.postgres_id)) == 1
        with w.railway._lock:
            assert len(w.railway._service_domains_of(w.backend_id, env["id"])) == 1


def test_a_lost_comment_is_not_posted_twice() -> None:
    with world() as w:
        clients = w.clients()
        assert clients.github is not None
        real_send = clients.github.http.send
        dropped: list[str] = []

        def send(method: str, url: str, headers: Any, body: bytes | None, timeout: float) -> Any:
            answer = real_send(method, url, headers, body, timeout)
            if method == "POST" and "/comments" in url and not dropped:
                dropped.append(url)
                raise ConnectionResetError  # it landed, the answer did not
            return answer

        clients.github.http.send = send
        w.open_pull_request(5)
        assert clients.github.comment(5, "hello") == "created"
        assert len(_comments(w, 5)) == 1 and dropped


def test_a_production_environment_is_never_treated_as_a_preview() -> None:
    with world() as w:
        target = pp.Target(w.project_id, w.staging_id, w.backend_id)
        staging = pp.Preview(1, "staging", w.staging_id, "")
        with pytest.raises(pp.PreviewError, match="not ephemeral"):
            pp.prepare(w.clients().railway, target, staging)
        assert w.railway.count(mutations_only=True) == 0


def test_list_reports_age_and_urls() -> None:
    with world() as w:
        assert _up(w, 4, SHA1) == 0
        rows = pp.listing(w.clients().railway, pp.Target(w.project_id, w.staging_id, w.backend_id))
        [row] = rows
        assert row["environment"] == "pr-4" and row["pr"] == 4 and row["age_hours"] >= 0
        assert str(row["backend_url"]).startswith("https://")


def test_missing_ids_are_one_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert pp.main(["up", "--pr", "1", "--sha", SHA1], {"RAILWAY_PREVIEW_TOKEN": "x"}) == 1
    assert "RAILWAY_PROJECT_ID" in capsys.readouterr().out


def test_over_railways_hourly_budget_the_script_waits_as_told_and_gives_up_bounded() -> None:
    with world(request_budget=2) as w:
        waits: list[float] = []
        clients = w.clients(pp.Http(sleep=waits.append, attempts=3))
        target = pp.Target(w.project_id, w.staging_id, w.backend_id)
        assert pp.previews(clients.railway, target) == [] and pp.previews(clients.railway, target) == []
        with pytest.raises(pp.PreviewError, match="HTTP 429"):
            pp.previews(clients.railway, target)
        assert w.railway.refused_over_budget == 3 and len(waits) == 2
        assert all(55 <= wait <= 60 for wait in waits), waits  # Retry-After (~1 h) honoured, at most 1 min each


def test_a_fork_whose_instances_are_not_there_yet_is_awaited_bounded() -> None:
    with world() as w:
        clients = w.clients()
        target = pp.Target(w.project_id, w.staging_id, w.backend_id)
        with w.railway._lock:
            env = w.railway._create_environment(w.project_id, "pr-6", ephemeral=True)
            w.railway.state.instances.pop((w.backend_id, env["id"]))  # the fork is not applied yet
        preview = pp.Preview(6, "pr-6", env["id"], env["createdAt"])
        waits: list[float] = []
        with pytest.raises(pp.PreviewError, match="after 3 looks"):
            pp.prepare(clients.railway, target, preview, sleep=waits.append, attempts=3)
        assert waits == [5.0, 5.0] and w.railway.count(mutations_only=True) == 0
