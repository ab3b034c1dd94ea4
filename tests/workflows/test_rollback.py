"""The Railway rollback script: its decisions, its API client, its commands, and its GraphQL documents."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from email.message import Message
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest
from graphql.execution.values import get_variable_values

from config import PROJECT_DIR
from workflows.scripts import railway_rollback as rr

SCHEMA = PROJECT_DIR / "tests" / "railway" / "schema.graphql"
IDS = {"RAILWAY_PROJECT_ID": "p", "RAILWAY_ENVIRONMENT_ID": "e", "RAILWAY_SERVICE_ID": "s"}


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(SCHEMA.read_text(), assume_valid=True)


def d(id_: str, status: str, minute: int, can_rollback: bool = True, **meta: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "status": status,
        "createdAt": f"2026-11-27T10:{minute:02d}:00.000Z",
        "canRollback": can_rollback,
        "meta": meta or None,
    }


# --- GraphQL documents ---------------------------------------------------------------------------------


@pytest.mark.parametrize("document", rr.DOCUMENTS)
def test_documents_validate_against_railways_schema(document: str) -> None:
    assert graphql.validate(schema(), graphql.parse(document)) == []


def test_the_deployment_list_variables_coerce_to_the_schemas_input_types() -> None:
    operation = graphql.parse(rr.DEPLOYMENTS_QUERY).definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    variables = {"input": {"projectId": "p", "environmentId": "e", "serviceId": "s"}, "first": 20}
    coerced = get_variable_values(schema(), operation.variable_definitions, variables)
    assert isinstance(coerced, dict), coerced


# --- pure decisions ------------------------------------------------------------------------------------

HISTORY = [d("d5", "SUCCESS", 50), d("d4", "REMOVED", 40), d("d3", "FAILED", 30), d("d2", "REMOVED", 20)]


def test_previous_successful_deployment_skips_the_current_and_those_that_never_served() -> None:
    assert rr.previous_successful_deployment(HISTORY, "d5")["id"] == "d4"
    assert rr.previous_successful_deployment(HISTORY, "d4")["id"] == "d2"
    assert rr.previous_successful_deployment([*HISTORY[:3], d("d2", "REMOVED", 20, False)], "d4") is None
    assert rr.previous_successful_deployment(list(reversed(HISTORY)), "d5")["id"] == "d4"  # order of the API


def test_previous_successful_deployment_without_the_current_in_the_list() -> None:
    assert rr.previous_successful_deployment(HISTORY, "unknown")["id"] == "d5"
    assert rr.previous_successful_deployment([], "d1") is None


def test_a_deployment_rolled_back_from_is_never_a_target_again() -> None:
    # d4 good, d5 bad and live; the first rollback made r1 (a copy of d4): d5 was rolled back from.
    after_first = [
        d("r1", "SUCCESS", 55, reason="rollback", sourceDeploymentId="d4"),
        d("d5", "REMOVED", 50),
        d("d4", "REMOVED", 40),
        d("d3", "FAILED", 30),
        d("d2", "REMOVED", 20),
    ]
    assert rr.rolled_back_from(after_first) == {"d5": "r1"}
    target, skipped = rr.rollback_target(after_first, "r1")
    assert target is not None and target["id"] == "d2"  # not d5 (bad), not d4 (what r1 runs already)
    assert skipped == ["d5: rolled back from (by r1)", "d4: runs the same as the current deployment"]
    plan = rr.plan_rollback(after_first, "r1")
    assert plan.target is not None and plan.target["id"] == "d2" and "passed over: d5" in plan.reason


def test_deployment_after_finds_the_one_a_deploy_created() -> None:
    history = [d("new2", "BUILDING", 55), d("new1", "DEPLOYING", 52), *HISTORY]
    assert rr.deployment_after(history, "d5")["id"] == "new1"
    assert rr.deployment_after(HISTORY, "d5") is None
    assert rr.deployment_after(history, None)["id"] == "new2"
    assert rr.deployment_after([], None) is None


def test_plan_rolls_back_a_live_but_unhealthy_deployment() -> None:
    plan = rr.plan_rollback(HISTORY, "d5")
    assert (plan.action, plan.target and plan.target["id"]) == ("rollback", "d4")


def test_plan_does_nothing_when_the_new_deployment_never_went_live() -> None:
    plan = rr.plan_rollback([d("d6", "FAILED", 55), *HISTORY], "d6")
    assert (plan.action, plan.target and plan.target["id"]) == ("nothing", "d5")
    assert "still serves d5" in plan.reason


def test_plan_cancels_a_deployment_still_in_flight() -> None:
    plan = rr.plan_rollback([d("d6", "DEPLOYING", 55), *HISTORY], "d6")
    assert plan.action == "cancel" and plan.target is not None and plan.target["id"] == "d5"


def test_plan_gives_up_when_there_is_nothing_to_roll_back_to() -> None:
    assert rr.plan_rollback([d("d1", "SUCCESS", 1)], "d1").action == "nothing"
    assert rr.plan_rollback([d("d1", "SUCCESS", 1)], "missing").target is None


# --- the API client ------------------------------------------------------------------------------------


class Transport:
    """Answers requests from a script of bodies or HTTP errors; records what was sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request, timeout: float) -> bytes:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, int):
            headers = Message()
            headers["Retry-After"] = "3"
            raise urllib.error.HTTPError(request.full_url, answer, "error", headers, io.BytesIO(b""))
        return json.dumps(answer).encode()


def test_client_sends_the_project_token_and_retries_throttling() -> None:
    sleeps: list[float] = []
    transport = Transport(429, 429, {"data": {"deploymentRollback": True}})
    client = rr.Railway("tok", transport=transport, sleep=sleeps.append)
    assert client.rollback("d4") is True  # a 429 was not processed: safe to resend
    assert sleeps == [3.0, 3.0]
    request = transport.requests[-1]
    assert request.get_header("Project-access-token") == "tok"
    assert request.full_url == rr.API_URL
    assert json.loads(request.data or b"")["variables"] == {"id": "d4"}


def test_client_gives_up_after_bounded_retries_and_reports_graphql_errors() -> None:
    client = rr.Railway("tok", attempts=2, transport=Transport(502, 502), sleep=lambda _: None)
    with pytest.raises(rr.RailwayError, match=r"after 2 attempt\(s\)"):
        client.deployment("x")
    failing = rr.Railway("tok", transport=Transport({"errors": [{"message": "Not Authorized"}]}))
    with pytest.raises(rr.RailwayError, match="Not Authorized"):
        failing.deployment("x")
    with pytest.raises(rr.RailwayError, match="HTTP 401"):
        rr.Railway("tok", transport=Transport(401)).deployment("x")


def test_client_refuses_an_empty_token_and_plain_http() -> None:
    with pytest.raises(rr.RailwayError, match="RAILWAY_TOKEN"):
        rr.Railway("")
    with pytest.raises(rr.RailwayError, match="https"):
        rr.Railway("tok", "http://backboard.example.com/graphql")


# --- commands ------------------------------------------------------------------------------------------


class FakeRailway(rr.Railway):
    """Deployments that change between looks; records deploys, rollbacks and cancellations."""

    def __init__(self, *looks: list[dict[str, Any]], rollback_ok: bool = True, lose_answers: int = 0) -> None:
        self.looks = list(looks)
        self.rolled_back: list[str] = []
        self.cancelled: list[str] = []
        self.deployed: list[str] = []
        self.rollback_ok = rollback_ok
        self.lose_answers = lose_answers  # deploy requests that land but whose answer is lost

    def deployments(self, project_id: str, environment_id: str, service_id: str, first: int = 20) -> list[Any]:
        assert (project_id, environment_id, service_id) == ("p", "e", "s")
        return self.looks.pop(0) if len(self.looks) > 1 else self.looks[0]

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        return next(x for x in self.looks[0] if x["id"] == deployment_id)

    def deploy(self, project_id: str, environment_id: str, service_id: str, commit: str) -> str:
        self.deployed.append(commit)
        made = d(f"dep{len(self.deployed)}", "SUCCESS", 58, commitHash=commit)
        self.looks = [[made, *self.looks[0]]]
        if self.lose_answers:
            self.lose_answers -= 1
            raise rr.RailwayError("Railway API unreachable after 1 attempt(s) (TimeoutError)")
        return str(made["id"])

    def rollback(self, deployment_id: str) -> bool:
        self.rolled_back.append(deployment_id)
        return self.rollback_ok

    def cancel(self, deployment_id: str) -> bool:
        self.cancelled.append(deployment_id)
        return True


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "out").write_text("")
    (tmp_path / "summary").write_text("")
    return {**IDS, "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}


def _outputs(env: dict[str, str]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines())


SHA = "c0ffee" * 6 + "abcd"


def test_deploy_deploys_the_commit_once_and_records_its_id(env: dict[str, str]) -> None:
    fake = FakeRailway(HISTORY)
    assert rr.main(["deploy", "--commit", SHA, "--poll", "0"], env, fake) == 0
    assert fake.deployed == [SHA]
    assert _outputs(env) == {"deployment_id": "dep1", "status": "SUCCESS"}


def test_a_rerun_adopts_the_commits_deployment_instead_of_deploying_again(env: dict[str, str]) -> None:
    fake = FakeRailway([d("mine", "BUILDING", 55, commitHash=SHA), *HISTORY])
    fake.looks = [[d("mine", "SUCCESS", 55, commitHash=SHA), *HISTORY]]
    assert rr.main(["deploy", "--commit", SHA, "--poll", "0"], env, fake) == 0
    assert fake.deployed == [] and _outputs(env)["deployment_id"] == "mine"


def test_a_lost_answer_is_read_back_not_sent_again(env: dict[str, str]) -> None:
    fake = FakeRailway(HISTORY, lose_answers=1)
    assert rr.main(["deploy", "--commit", SHA, "--poll", "0"], env, fake) == 0
    assert fake.deployed == [SHA], "the request landed; sending it again would deploy twice"
    assert _outputs(env)["deployment_id"] == "dep1"


class Watching(FakeRailway):
    """Records whether the last look before each deploy request showed a deployment in flight."""

    def __init__(self, *looks: list[dict[str, Any]]) -> None:
        super().__init__(*looks)
        self.seen: list[Any] = []
        self.busy_at_deploy: list[bool] = []

    def deployments(self, project_id: str, environment_id: str, service_id: str, first: int = 20) -> list[Any]:
        self.seen = super().deployments(project_id, environment_id, service_id, first)
        return self.seen

    def deploy(self, project_id: str, environment_id: str, service_id: str, commit: str) -> str:
        self.busy_at_deploy.append(any(x["status"] in rr.IN_FLIGHT for x in self.seen))
        return super().deploy(project_id, environment_id, service_id, commit)


def test_deploy_waits_while_another_deploy_of_the_service_is_in_flight(env: dict[str, str]) -> None:
    """``pulumi up``'s redeploy (the other deploy path; no concurrency group spans both) is building: CI's deploy
    waits for it to finish, then deploys once; it never supersedes it mid-flight."""
    theirs = "b0" * 20
    building, live = d("stack", "BUILDING", 57, commitHash=theirs), d("stack", "SUCCESS", 57, commitHash=theirs)
    fake = Watching([building, *HISTORY], [building, *HISTORY], [live, *HISTORY])
    assert rr.main(["deploy", "--commit", SHA, "--poll", "0"], env, fake) == 0
    assert fake.deployed == [SHA] and fake.busy_at_deploy == [False]


def test_deploy_refuses_when_another_deploy_stays_in_flight(env: dict[str, str]) -> None:
    building = d("stack", "BUILDING", 57, commitHash="b0" * 20)
    fake = Watching([building, *HISTORY])
    assert rr.main(["deploy", "--commit", SHA, "--poll", "0", "--timeout", "0"], env, fake) == 1
    assert fake.deployed == []


def test_deploy_fails_when_the_deployment_does_not_go_live(env: dict[str, str]) -> None:
    class Crashing(FakeRailway):
        def deploy(self, project_id: str, environment_id: str, service_id: str, commit: str) -> str:
            self.looks = [[d("bad", "CRASHED", 58, commitHash=commit), *self.looks[0]]]
            return "bad"

    assert rr.main(["deploy", "--commit", SHA, "--poll", "0"], env, Crashing(HISTORY)) == 1
    assert _outputs(env) == {"deployment_id": "bad", "status": "CRASHED"}  # recorded: the rollback needs it


def test_verify_checks_the_live_deployment_and_its_migration_gate(env: dict[str, str]) -> None:
    manifest = {"deploy": {"preDeployCommand": ["python apply_migration.py"]}}
    live = [d("mine", "SUCCESS", 58, commitHash=SHA, serviceManifest=manifest), *HISTORY[1:]]
    ok = ["verify", "--deployment", "mine", "--pre-deploy", "python apply_migration.py"]
    assert rr.main(ok, env, FakeRailway(live)) == 0
    assert (
        rr.main(["verify", "--deployment", "d4", "--pre-deploy", "python apply_migration.py"], env, FakeRailway(live))
        == 1
    )
    no_gate = [d("mine", "SUCCESS", 58, commitHash=SHA, serviceManifest={"deploy": {}}), *HISTORY[1:]]
    assert rr.main(ok, env, FakeRailway(no_gate)) == 1


def test_rollback_without_a_recorded_id_refuses_to_guess(env: dict[str, str]) -> None:
    fake = FakeRailway(HISTORY)
    assert rr.main(["rollback", "--current", ""], env, fake) == 1
    assert fake.rolled_back == [] and fake.cancelled == []
    assert "no deployment id recorded" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_rollback_restores_the_previous_deployment_and_reports_it(env: dict[str, str]) -> None:
    live = [d("d5", "SUCCESS", 50), d("d4", "REMOVED", 40)]
    restored = [d("d6", "SUCCESS", 58), d("d5", "REMOVED", 50), d("d4", "REMOVED", 40)]
    fake = FakeRailway(live, restored)
    assert rr.main(["rollback", "--current", "d5", "--poll", "0"], env, fake) == 0
    assert fake.rolled_back == ["d4"]
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "### Automatic rollback" in summary and "rolled back to `d4`" in summary and "service restored" in summary


def test_rollback_reports_when_railway_refuses(env: dict[str, str]) -> None:
    fake = FakeRailway([d("d5", "SUCCESS", 50), d("d4", "REMOVED", 40)], rollback_ok=False)
    assert rr.main(["rollback", "--current", "d5"], env, fake) == 1
    assert "manual action needed" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_rollback_cancels_a_deployment_that_has_not_gone_live(env: dict[str, str]) -> None:
    fake = FakeRailway([d("d6", "DEPLOYING", 55), d("d5", "SUCCESS", 50)])
    assert rr.main(["rollback", "--current", "d6"], env, fake) == 0
    assert fake.cancelled == ["d6"] and fake.rolled_back == []


def test_missing_ids_fail_with_a_clear_message(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    partial = {k: v for k, v in env.items() if k != "RAILWAY_SERVICE_ID"}
    assert rr.main(["deploy", "--commit", SHA], partial, FakeRailway(HISTORY)) == 1
    assert "RAILWAY_SERVICE_ID not set" in capsys.readouterr().out


@pytest.mark.parametrize(
    "lost", [503, {"errors": [{"message": "Problem processing request"}]}], ids=["http-503", "generic-error"]
)
def test_a_rollback_whose_answer_was_lost_is_not_resent_blindly(lost: Any) -> None:
    transport = Transport(lost)
    with pytest.raises(rr.AmbiguousError):
        rr.Railway("tok", transport=transport, sleep=lambda _: None).rollback("d4")
    assert len(transport.requests) == 1


class LostRollback(FakeRailway):
    """The rollback's answer is lost; whether it happened is only visible in the deployment list."""

    def rollback(self, deployment_id: str) -> bool:
        self.rolled_back.append(deployment_id)
        if len(self.rolled_back) == 1:
            raise rr.AmbiguousError("HTTP 503 after the request was sent")
        return True


def test_rollback_once_adopts_a_rollback_that_landed() -> None:
    live = [d("d5", "SUCCESS", 50), d("d4", "REMOVED", 40)]
    landed = [d("d6", "DEPLOYING", 58), *live]
    fake = LostRollback(live, landed)
    target = rr.Target("p", "e", "s")
    assert rr.rollback_once(fake, target, "d4", settle=10, poll=0, sleep=lambda _: None) is True
    assert fake.rolled_back == ["d4"]  # sent once: the read showed it had happened


def test_rollback_once_resends_only_after_reads_show_it_did_not_land() -> None:
    live = [d("d5", "SUCCESS", 50), d("d4", "REMOVED", 40)]
    fake = LostRollback(live)
    ticks = iter(range(100))
    target = rr.Target("p", "e", "s")
    assert rr.rollback_once(fake, target, "d4", settle=3, poll=1, sleep=lambda _: None, clock=lambda: next(ticks))
    assert fake.rolled_back == ["d4", "d4"]
