"""Judge a staging load test against its budgets and the last successful run; report it as tables.

maya-infra inlines this file into the performance job (workflows/performance.py). Standard library only.

``evaluate``: reads Locust's ``<prefix>_stats.csv`` (one row per request name, ``backend /api/health``) and,
when there is one, the same file of the last successful run on the staging branch (perf_baseline.py fetches
it). Each path of the plan fails when it had fewer than ``minRequests`` requests (too few to judge), when its
p95 is over its ``p95Ms`` budget, when its failed requests are over ``maxErrorPercent``, or when its p95 is more
than ``regressionPercent`` worse than the baseline's and at least ``regressionFloorMs`` slower. The table (p50,
p95, p99, requests/s, errors, the change from the last successful run, the verdict) goes to stdout and to the
job summary; every failure is also an ``::error::`` annotation.

``lighthouse``: the job summary's table of Lighthouse CI's representative (median) run per page, from
``lhci upload --target filesystem``'s manifest.json, next to the budgets (``lhci assert`` judges them).

Usage: python3 perf_report.py evaluate --stats FILE [--baseline FILE] [--baseline-note TEXT]
       python3 perf_report.py lighthouse --manifest FILE
Environment: PERFORMANCE_PLAN (JSON, rendered by maya-infra from maya-infra:performance); GITHUB_STEP_SUMMARY.
Exit status: 0 every budget holds; 1 a budget or the regression rule failed; 2 unusable input.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("backend", "frontend")


class InputError(Exception):
    """A file or the plan cannot be read (exit 2: the stage cannot judge, which is a failure too)."""


@dataclass(frozen=True)
class Stats:
    """One row of Locust's stats CSV (times in ms)."""

    requests: int
    failures: int
    requests_per_second: float
    p50: float | None
    p95: float | None
    p99: float | None

    @property
    def error_percent(self) -> float:
        return 100.0 * self.failures / self.requests if self.requests else 0.0


@dataclass
class Verdict:
    """What one path's run says: its row of the table and its failures."""

    name: str
    stats: Stats | None
    budget_ms: int
    change: str = "–"
    failures: list[str] = field(default_factory=list)


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None  # Locust writes N/A for a name without requests
    return value if math.isfinite(value) else None


def read_stats(path: Path) -> dict[str, Stats]:
    """Request name -> its statistics, from a Locust ``_stats.csv`` (the ``Aggregated`` row included)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise InputError(f"{path}: {error.strerror or error}") from None
    wanted = {"Name", "Request Count", "Failure Count", "Requests/s", "50%", "95%", "99%"}
    if rows and not wanted <= set(rows[0]):
        raise InputError(f"{path}: not a Locust stats CSV (columns {sorted(wanted - set(rows[0]))} are missing)")
    stats = {}
    for row in rows:
        stats[row["Name"]] = Stats(
            requests=int(_number(row["Request Count"]) or 0),
            failures=int(_number(row["Failure Count"]) or 0),
            requests_per_second=_number(row["Requests/s"]) or 0.0,
            p50=_number(row["50%"]),
            p95=_number(row["95%"]),
            p99=_number(row["99%"]),
        )
    return stats


def read_plan(text: str | None) -> dict[str, Any]:
    try:
        plan = json.loads(text or "")
    except json.JSONDecodeError:
        raise InputError("PERFORMANCE_PLAN is not JSON (maya-infra renders it: re-render the workflow)") from None
    if not isinstance(plan, dict) or not any(plan.get(kind) for kind in KINDS):
        raise InputError("PERFORMANCE_PLAN lists no backend or frontend path")
    return plan


def judge(plan: Mapping[str, Any], current: Mapping[str, Stats], baseline: Mapping[str, Stats] | None) -> list[Verdict]:
    """One verdict per path of the plan, in the plan's order."""
    minimum = int(plan.get("minRequests", 1))
    regression, floor = float(plan.get("regressionPercent", 20)), float(plan.get("regressionFloorMs", 0))
    verdicts = []
    for kind in KINDS:
        for entry in plan.get(kind) or ():
            name = f"{kind} {entry['path']}"
            stats = current.get(name)
            verdict = Verdict(name, stats, int(entry["p95Ms"]))
            verdicts.append(verdict)
            if stats is None or stats.requests < minimum or stats.p95 is None:
                count = 0 if stats is None else stats.requests
                verdict.failures.append(
                    f"{name}: {count} requests, fewer than minRequests ({minimum}): too few to judge "
                    "(raise durationSeconds or users, or the path's weight)"
                )
                continue
            if stats.p95 > verdict.budget_ms:
                verdict.failures.append(f"{name}: p95 {stats.p95:g} ms is over its budget of {verdict.budget_ms} ms")
            allowed = float(entry.get("maxErrorPercent", 0))
            if stats.error_percent > allowed:
                verdict.failures.append(
                    f"{name}: {stats.failures} of {stats.requests} requests failed ({stats.error_percent:.2f} %), "
                    f"over its budget of {allowed:g} %"
                )
            _regression(verdict, stats, None if baseline is None else baseline.get(name), regression, floor, minimum)
    return verdicts


def _regression(verdict: Verdict, now: Stats, before: Stats | None, percent: float, floor: float, minimum: int) -> None:
    """The change of p95 from the last successful run, and a failure when it is a regression."""
    if before is None or before.p95 is None or before.requests < minimum:
        verdict.change = "new: no baseline" if before is None else "baseline too small"
        return
    assert now.p95 is not None
    grown = now.p95 - before.p95
    ratio = 100.0 * grown / before.p95 if before.p95 > 0 else (math.inf if grown > 0 else 0.0)
    verdict.change = f"{ratio:+.0f} % ({before.p95:g} → {now.p95:g} ms)" if math.isfinite(ratio) else "from 0 ms"
    if ratio > percent and grown >= floor:
        verdict.failures.append(
            f"{verdict.name}: p95 {now.p95:g} ms is {ratio:.0f} % worse than the last successful run's "
            f"{before.p95:g} ms (regressionPercent {percent:g}, regressionFloorMs {floor:g})"
        )


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def table(verdicts: Sequence[Verdict], aggregated: Stats | None) -> list[str]:
    lines = [
        "| path | requests | req/s | errors | p50 ms | p95 ms | p99 ms | p95 budget | p95 vs last success | verdict |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for v in verdicts:
        s = v.stats
        errors = "–" if s is None else f"{s.failures} ({s.error_percent:.1f} %)"
        count, rate = ("0", "–") if s is None else (str(s.requests), f"{s.requests_per_second:.1f}")
        p50, p95, p99 = (None, None, None) if s is None else (s.p50, s.p95, s.p99)
        mark = "❌ " + "; ".join(f.split(": ", 1)[1] for f in v.failures) if v.failures else "✅"
        lines.append(
            f"| `{v.name}` | {count} | {rate} | {errors} | {_ms(p50)} | {_ms(p95)} | {_ms(p99)} | "
            f"{v.budget_ms} | {v.change} | {mark} |"
        )
    if aggregated is not None:
        a = aggregated
        lines.append(
            f"| all | {a.requests} | {a.requests_per_second:.1f} | {a.failures} ({a.error_percent:.1f} %) | "
            f"{_ms(a.p50)} | {_ms(a.p95)} | {_ms(a.p99)} | | | |"
        )
    return lines


def _summary(env: Mapping[str, str], lines: Sequence[str]) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n\n")


def evaluate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    plan = read_plan(env.get("PERFORMANCE_PLAN"))
    current = read_stats(args.stats)
    baseline = read_stats(args.baseline) if args.baseline is not None else None
    verdicts = judge(plan, current, baseline)
    failures = [f for v in verdicts for f in v.failures]
    note = args.baseline_note or (
        "compared with the last successful run on the staging branch"
        if baseline is not None
        else "none, the first successful run (or its artifact expired); regressions are judged from the next run on"
    )
    head = [
        "### Load test of staging (Locust)",
        "",
        f"Budgets from maya-infra:performance; p95 regression rule: more than {plan.get('regressionPercent', 20):g} % "
        f"and at least {plan.get('regressionFloorMs', 0):g} ms slower fails. Baseline: {note}.",
        "",
    ]
    verdict_line = f"**{len(failures)} budget(s) failed.**" if failures else "**Every budget holds.**"
    lines = [*head, *table(verdicts, current.get("Aggregated")), "", verdict_line]
    print("\n".join(lines))
    _summary(env, lines)
    for failure in failures:
        print(f"::error::{failure}")
    return 1 if failures else 0


# ---- Lighthouse ------------------------------------------------------------------------------------------

LIGHTHOUSE_CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
LIGHTHOUSE_METRICS = {
    "largest-contentful-paint": ("LCP", "ms"),
    "total-blocking-time": ("TBT", "ms"),
    "cumulative-layout-shift": ("CLS", ""),
}


def _cell(value: float | None, budget: float | None, *, higher_is_better: bool, unit: str = "") -> str:
    if value is None:
        return "–"
    shown = f"{value:.2f}" if not unit else f"{value:.0f} {unit}"
    if budget is None:
        return shown
    ok = value >= budget if higher_is_better else value <= budget
    limit = f"{budget:g}{(' ' + unit) if unit else ''}"
    return f"{shown} {'✅' if ok else '❌'} ({'≥' if higher_is_better else '≤'} {limit})"


def lighthouse(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    plan = read_plan(env.get("PERFORMANCE_PLAN"))
    budgets = plan.get("lighthouse") or {}
    scores: Mapping[str, float] = budgets.get("minScores") or {}
    metrics: Mapping[str, float] = budgets.get("maxMetrics") or {}
    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{args.manifest}: no Lighthouse CI manifest ({error})") from None
    header = ["page", *LIGHTHOUSE_CATEGORIES, *(label for label, _ in LIGHTHOUSE_METRICS.values()), "report"]
    lines = [
        "### Lighthouse CI on staging (median run per page)",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] * len(header)) + " |",
    ]
    for entry in manifest:
        if not entry.get("isRepresentativeRun"):
            continue
        try:
            report = json.loads(Path(entry["jsonPath"]).read_text(encoding="utf-8"))
        except (OSError, KeyError, json.JSONDecodeError) as error:
            raise InputError(f"the Lighthouse report of {entry.get('url')}: {error}") from None
        categories = report.get("categories") or {}
        audits = report.get("audits") or {}
        cells = [
            _cell((categories.get(c) or {}).get("score"), scores.get(c), higher_is_better=True)
            for c in LIGHTHOUSE_CATEGORIES
        ]
        cells += [
            _cell((audits.get(a) or {}).get("numericValue"), metrics.get(a), higher_is_better=False, unit=unit)
            for a, (_, unit) in LIGHTHOUSE_METRICS.items()
        ]
        name = Path(entry.get("htmlPath", "")).name
        lines.append(f"| {entry.get('url')} | " + " | ".join(cells) + f" | `{name}` |")
    lines += ["", "Budgets: maya-infra:performance.lighthouse; `lhci assert` judges them (artifact lighthouse-report)."]
    print("\n".join(lines))
    _summary(env, lines)
    return 0


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="perf_report", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("evaluate", help="judge a Locust run against the budgets and the baseline")
    run.add_argument("--stats", type=Path, required=True)
    run.add_argument("--baseline", type=Path)
    run.add_argument("--baseline-note", default="")
    audit = commands.add_parser("lighthouse", help="the summary table of a Lighthouse CI run")
    audit.add_argument("--manifest", type=Path, required=True)
    args = parser.parse_args(argv)
    environment = dict(os.environ) if env is None else env
    try:
        return evaluate(args, environment) if args.command == "evaluate" else lighthouse(args, environment)
    except InputError as error:
        print(f"::error::{error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
