"""perf_report.py's edges, without Locust: unusable input is a failure (exit 2), never a pass, and the
regression rule judges only against a baseline that was itself judgeable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.scripts import perf_report
from workflows.scripts.perf_report import Stats, judge

HEADER = "Type,Name,Request Count,Failure Count,Median Response Time,Requests/s,50%,95%,99%\n"
PLAN = {
    "backend": [{"path": "/api/health", "weight": 1, "p95Ms": 500, "maxErrorPercent": 1}],
    "frontend": [],
    "minRequests": 20,
    "regressionPercent": 20,
    "regressionFloorMs": 50,
}


def _stats(requests: int, p95: float | None, failures: int = 0) -> Stats:
    return Stats(requests, failures, 10.0, p95, p95, p95)


def test_a_baseline_too_small_or_missing_the_path_is_no_regression() -> None:
    now = {"backend /api/health": _stats(100, 400)}
    [verdict] = judge(PLAN, now, {"backend /api/health": _stats(5, 100)})
    assert verdict.failures == [] and verdict.change == "baseline too small"
    [verdict] = judge(PLAN, now, {"backend /other": _stats(100, 100)})
    assert verdict.failures == [] and verdict.change == "new: no baseline"


def test_the_floor_and_the_percentage_must_both_be_crossed() -> None:
    slower = {"backend /api/health": _stats(100, 140)}  # +40 % but only 40 ms: under the floor of 50 ms
    assert judge(PLAN, slower, {"backend /api/health": _stats(100, 100)})[0].failures == []
    slower = {"backend /api/health": _stats(100, 460)}  # +15 % but 60 ms: under the percentage of 20
    assert judge(PLAN, slower, {"backend /api/health": _stats(100, 400)})[0].failures == []
    slower = {"backend /api/health": _stats(100, 490)}  # +22.5 % and 90 ms: a regression
    [failure] = judge(PLAN, slower, {"backend /api/health": _stats(100, 400)})[0].failures
    assert "22 % worse" in failure or "23 % worse" in failure


def test_a_baseline_of_zero_ms_still_judges_by_the_floor() -> None:
    assert (
        judge(PLAN, {"backend /api/health": _stats(100, 30)}, {"backend /api/health": _stats(100, 0)})[0].failures == []
    )
    [failure] = judge(PLAN, {"backend /api/health": _stats(100, 80)}, {"backend /api/health": _stats(100, 0)})[
        0
    ].failures
    assert "worse than the last successful run" in failure


@pytest.mark.parametrize(
    ("stats", "plan", "message"),
    [
        ("Name,Count\nx,1\n", PLAN, "not a Locust stats CSV"),
        (HEADER, "{not json", "PERFORMANCE_PLAN is not JSON"),
        (HEADER, {"backend": [], "frontend": []}, "lists no backend or frontend path"),
    ],
)
def test_unusable_input_fails_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stats: str, plan: object, message: str
) -> None:
    file = tmp_path / "locust_stats.csv"
    file.write_text(stats)
    env = {"PERFORMANCE_PLAN": plan if isinstance(plan, str) else json.dumps(plan)}
    assert perf_report.main(["evaluate", "--stats", str(file)], env=env) == 2
    assert message in capsys.readouterr().out


def test_a_run_that_wrote_no_statistics_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"PERFORMANCE_PLAN": json.dumps(PLAN)}
    assert perf_report.main(["evaluate", "--stats", str(tmp_path / "missing.csv")], env=env) == 2
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    assert perf_report.main(["evaluate", "--stats", str(empty)], env=env) == 1  # no row for the path: too few
    assert "0 requests, fewer than minRequests" in capsys.readouterr().out
