"""Alert by GitHub issue: open (or update) one issue per problem while it lasts, close it on recovery.

Opening an issue and closing it with a comment notify the repository's watchers by e-mail; updating the
body of an open issue does not, so a failure that lasts for hours sends one mail, not one every run.
Issues are found by label and exact title (listed, not searched: the search index lags), so there is at
most one open issue per title.
"""

from __future__ import annotations

import re

from workflows.render import Step, expr, script

_SAFE_NAME = re.compile(r"^[A-Za-z0-9 /.:_-]+$")

RUN_URL = expr("github.server_url") + "/" + expr("github.repository") + "/actions/runs/" + expr("github.run_id")

_FIND = script("""
    find_issue() {
      gh issue list --state open --label "$LABEL" --limit 100 --json number,title |
        jq -r --arg title "$TITLE" '[.[] | select(.title == $title)][0].number // empty'
    }
    """)


def _env(title: str, label: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        "GH_TOKEN": expr("github.token"),
        "GH_REPO": expr("github.repository"),
        "TITLE": title,
        "LABEL": label,
        "RUN_URL": RUN_URL,
        **extra,
    }


def raise_alert(
    title: str, label: str, condition: str, details: dict[str, str], *, body_file: str | None = None
) -> Step:
    """Open the issue ``title`` or refresh its body; ``details`` become a table (values may be expressions);
    ``body_file``: a Markdown file the check wrote (a shell path), appended to the body when it exists."""
    for name in details:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"{name!r}: a detail name is written into a shell string; use letters, digits, ' /.:-'")
    detail_env = {f"DETAIL_{index}": value for index, value in enumerate(details.values())}
    lines = [
        "set -euo pipefail",
        'gh label create "$LABEL" --color B60205 --description "Raised by a scheduled maya-infra check" \\',
        "  2>/dev/null || true",
        'body="$(',
        '  echo "Raised by $RUN_URL (last failure: $(date -u +%Y-%m-%dT%H:%M:%SZ))."',
        '  echo ""',
        '  echo "| check | outcome |"',
        '  echo "| --- | --- |"',
        *(f'  echo "| {name} | $DETAIL_{index} |"' for index, name in enumerate(details)),
        '  echo ""',
        *(['  if [ -f "$BODY_FILE" ]; then cat "$BODY_FILE"; echo ""; fi'] if body_file else []),
        '  echo "This issue is updated while the problem lasts and closed automatically once the check passes."',
        ')"',
        'number="$(find_issue)"',
        'if [ -z "$number" ]; then',
        '  gh issue create --title "$TITLE" --label "$LABEL" --body "$body"',
        '  echo "opened=true" >> "$GITHUB_OUTPUT"  # a new incident (steps.alert.outputs.opened)',
        "else",
        '  gh issue edit "$number" --body "$body"',
        "fi",
        'echo "::error::$TITLE"',
    ]
    body = _FIND + "\n".join(lines) + "\n"
    return {
        "name": "Open or update the alert issue",
        "id": "alert",
        "if": condition,
        "env": _env(title, label, {**detail_env, **({"BODY_FILE": body_file} if body_file else {})}),
        "run": body,
    }


def clear_alert(title: str, label: str, condition: str) -> Step:
    """Close the open issue ``title``, if any, with a comment saying when the check passed again."""
    return {
        "name": "Close the alert issue on recovery",
        "id": "recovery",
        "if": condition,
        "env": _env(title, label, {}),
        "run": _FIND
        + script("""
                set -euo pipefail
                number="$(find_issue)"
                if [ -n "$number" ]; then
                  when="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
                  gh issue close "$number" --comment "Recovered: the check passed at $when ($RUN_URL)."
                  echo "closed=true" >> "$GITHUB_OUTPUT"  # recovered (steps.recovery.outputs.closed)
                fi
                """),
    }
