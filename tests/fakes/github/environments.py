"""Deployment environments, their branch policies, sealed secrets and variables."""

from __future__ import annotations

from typing import Any

from nacl.exceptions import CryptoError

from tests.fakes.github.common import Context, HttpError
from tests.fakes.github.model import BranchPolicy, Environment, Repository, Secret, Variable, next_id, now


class EnvironmentsMixin:
    """Deployment environments, their branch policies, sealed secrets and variables."""

    # environments -------------------------------------------------------------------------------------

    def _env(self, c: Context) -> tuple[Repository, Environment]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        env = repo.environments.get(c.params["environment_name"])
        if env is None:
            raise HttpError(404, "Not Found")
        return repo, env

    def _reviewer_payloads(self, env: Environment) -> list[dict[str, Any]]:
        out = []
        for kind, rid in env.reviewers:
            if kind == "Team":
                out.append({"type": "Team", "reviewer": self._payloads.team(self.teams[rid])})
            else:
                user = next(a for a in self.accounts.values() if a.id == rid and a.kind == "User")
                out.append({"type": "User", "reviewer": self._payloads.simple_user(user)})
        return out

    def _environment_payload(self, repo: Repository, env: Environment) -> dict[str, Any]:
        return self._payloads.environment(repo, env, self._reviewer_payloads(env))

    def _list_environments(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        envs = [self._environment_payload(repo, e) for e in repo.environments.values()]
        return 200, {"total_count": len(envs), "environments": envs}

    def _get_environment(self, c: Context) -> tuple[int, Any]:
        repo, env = self._env(c)
        return 200, self._environment_payload(repo, env)

    def _put_environment(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        name = c.params["environment_name"]
        body = c.body or {}
        reviewers = [(r["type"], int(r["id"])) for r in body.get("reviewers") or []]
        for kind, rid in reviewers:
            known = (
                rid in self.teams
                if kind == "Team"
                else any(a.id == rid and a.kind == "User" for a in self.accounts.values())
            )
            if not known:
                raise HttpError(422, f"Reviewer {kind} {rid} does not exist or has no access to {repo.full_name}")
        if len(reviewers) > 6:
            raise HttpError(422, "An environment can have at most 6 required reviewers")
        policy = body.get("deployment_branch_policy")
        if policy is not None and policy["protected_branches"] == policy["custom_branch_policies"]:
            raise HttpError(422, "protected_branches and custom_branch_policies cannot have the same value")
        stamp = now()
        env = repo.environments.get(name)
        if env is None:
            env = repo.environments[name] = Environment(next_id(), name, stamp, stamp)
            env.rule_ids = {k: next_id() for k in ("wait_timer", "required_reviewers", "branch_policy")}
        env.updated_at = stamp
        env.wait_timer = int(body.get("wait_timer") or 0)
        env.prevent_self_review = bool(body.get("prevent_self_review", False))
        env.can_admins_bypass = bool(body.get("can_admins_bypass", True))
        env.reviewers = reviewers
        env.branch_policy = None if policy is None else (policy["protected_branches"], policy["custom_branch_policies"])
        if env.branch_policy is None or not env.branch_policy[1]:
            env.policies.clear()  # GitHub drops name patterns when custom policies are switched off
        return 200, self._environment_payload(repo, env)

    def _delete_environment(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        if repo.environments.pop(c.params["environment_name"], None) is None:
            raise HttpError(404, "Not Found")
        return 204, None

    # deployment branch policies -----------------------------------------------------------------------

    def _policy(self, c: Context) -> tuple[Environment, BranchPolicy]:
        _, env = self._env(c)
        policy = env.policies.get(int(c.params["branch_policy_id"]))
        if policy is None:
            raise HttpError(404, "Not Found")
        return env, policy

    def _list_policies(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.branch_policy(p) for p in env.policies.values()]
        return 200, {"total_count": len(items), "branch_policies": items}

    def _create_policy(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        if env.branch_policy is None or not env.branch_policy[1]:
            raise HttpError(404, "Not Found")  # as described: custom_branch_policies is false
        name, kind = c.body["name"], c.body.get("type", "branch")
        if any(p.name == name and p.type == kind for p in env.policies.values()):
            return 303, None
        policy = BranchPolicy(next_id(), name, kind)
        env.policies[policy.id] = policy
        return 200, self._payloads.branch_policy(policy)

    def _get_policy(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.branch_policy(self._policy(c)[1])

    def _update_policy(self, c: Context) -> tuple[int, Any]:
        _, policy = self._policy(c)
        policy.name = c.body["name"]
        return 200, self._payloads.branch_policy(policy)

    def _delete_policy(self, c: Context) -> tuple[int, Any]:
        env, policy = self._policy(c)
        del env.policies[policy.id]
        return 204, None

    # secrets and variables ----------------------------------------------------------------------------

    def _env_public_key(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        return 200, self._payloads.public_key(env.keys.key_id, env.keys.key)

    def _repo_public_key(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        return 200, self._payloads.public_key(repo.keys.key_id, repo.keys.key)

    def _list_secrets(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.secret(s) for s in env.secrets.values()]
        return 200, {"total_count": len(items), "secrets": items}

    def _get_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        secret = env.secrets.get(c.params["secret_name"])
        if secret is None:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.secret(secret)

    def _put_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        name = c.params["secret_name"]
        key_id, sealed = c.body["key_id"], c.body["encrypted_value"]
        if key_id != env.keys.key_id:
            raise HttpError(422, f"key_id {key_id} is not this environment's public key ({env.keys.key_id})")
        try:
            env.keys.open(sealed)  # only a value sealed with this environment's public key is accepted
        except (CryptoError, ValueError) as exc:
            raise HttpError(422, f"encrypted_value cannot be opened with the environment's key: {exc}") from None
        stamp = now()
        existing = env.secrets.get(name)
        env.secrets[name] = Secret(name, key_id, sealed, existing.created_at if existing else stamp, stamp)
        return (204, None) if existing else (201, {})

    def _delete_secret(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        if env.secrets.pop(c.params["secret_name"], None) is None:
            raise HttpError(404, "Not Found")
        return 204, None

    def _list_variables(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        items = [self._payloads.variable(v) for v in env.variables.values()]
        return 200, {"total_count": len(items), "variables": items}

    def _variable(self, c: Context) -> tuple[Environment, Variable]:
        _, env = self._env(c)
        variable = env.variables.get(c.params["name"].upper())
        if variable is None:
            raise HttpError(404, "Not Found")
        return env, variable

    def _create_variable(self, c: Context) -> tuple[int, Any]:
        _, env = self._env(c)
        name = c.body["name"].upper()  # GitHub stores variable names upper-cased
        if name in env.variables:
            raise HttpError(409, "Already exists - Variable already exists")
        stamp = now()
        env.variables[name] = Variable(name, c.body["value"], stamp, stamp)
        return 201, {}

    def _get_variable(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.variable(self._variable(c)[1])

    def _update_variable(self, c: Context) -> tuple[int, Any]:
        env, variable = self._variable(c)
        new_name = (c.body.get("name") or variable.name).upper()
        if new_name != variable.name:
            del env.variables[variable.name]
            variable.name = new_name
            env.variables[new_name] = variable
        variable.value = c.body.get("value", variable.value)
        variable.updated_at = now()
        return 204, None

    def _delete_variable(self, c: Context) -> tuple[int, Any]:
        env, variable = self._variable(c)
        del env.variables[variable.name]
        return 204, None
