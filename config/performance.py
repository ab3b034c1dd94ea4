"""``maya-infra:performance``: the load test and Lighthouse budgets of the staging performance stage.

The stage (workflows/performance.py, docs/pipeline.md "Performance on staging") runs after every staging
deploy of either app: Locust drives ``users`` simulated users against the staging backend's ``backend``
paths and the frontend's ``frontend`` pages for ``durationSeconds``, then Lighthouse CI audits the
``lighthouse.pages``. A path fails when its p95 or its error rate is over its budget, or when its p95 is more
than ``regressionPercent`` worse than in the last successful run on the staging branch. The staging →
production gate requires the stage, so a release that breaks a budget never reaches production.

Only GET requests are sent: a load test must not write into staging's data. Only staging runs the stage
(production's stack file carries no ``performance`` section; config/model.py refuses one).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.types import UrlPath, _Section


class LoadPath(_Section):
    """One path under load and its budgets: p95 response time and the share of failed requests."""

    path: UrlPath
    #: share of the simulated users' requests that go to this path, relative to the other paths' weights
    weight: int = Field(default=1, ge=1, le=100)
    p95_ms: int = Field(ge=1, le=60_000, description="95th percentile response time budget, in ms")
    max_error_percent: float = Field(default=1.0, ge=0, le=100, description="failed requests budget, in %")


def _unique_paths(paths: tuple[LoadPath, ...]) -> tuple[LoadPath, ...]:
    seen = [p.path for p in paths]
    twice = sorted({p for p in seen if seen.count(p) > 1})
    if twice:
        raise ValueError(f"lists {twice} twice: give each path one budget")
    return paths


#: Lighthouse's categories and the config key of each one's minimum score.
LIGHTHOUSE_CATEGORIES = {
    "performance": "performance",
    "accessibility": "accessibility",
    "best-practices": "bestPractices",
    "seo": "seo",
}


class LighthouseSettings(_Section):
    """Lighthouse CI on the staging frontend's key pages; each budget unset (null) is reported, not judged.

    Scores are Lighthouse's 0–1 category scores; the metrics are of the median run of ``runs``. The defaults
    suit Lighthouse's default mobile emulation (simulated slow 4G, 4× CPU slowdown) on a GitHub runner. SEO
    is not judged by default: a staging site usually tells crawlers not to index it.
    """

    enabled: bool = True
    pages: tuple[UrlPath, ...] = Field(default=("/",), min_length=1, max_length=10)
    runs: int = Field(default=3, ge=1, le=9, description="runs per page; the median run is judged")
    form_factor: Literal["mobile", "desktop"] = "mobile"
    performance: float | None = Field(default=0.7, ge=0, le=1)
    accessibility: float | None = Field(default=0.9, ge=0, le=1)
    best_practices: float | None = Field(default=0.9, ge=0, le=1)
    seo: float | None = Field(default=None, ge=0, le=1)
    largest_contentful_paint_ms: int | None = Field(default=4000, ge=100, le=60_000)
    total_blocking_time_ms: int | None = Field(default=600, ge=0, le=60_000)
    cumulative_layout_shift: float | None = Field(default=0.1, ge=0, le=10)

    @field_validator("pages")
    @classmethod
    def _pages_once(cls, pages: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(pages)) != len(pages):
            raise ValueError("lists a page twice")
        return pages

    def min_scores(self) -> dict[str, float]:
        """Lighthouse category id -> minimum score, for the categories that have a budget."""
        values = {
            "performance": self.performance,
            "accessibility": self.accessibility,
            "best-practices": self.best_practices,
            "seo": self.seo,
        }
        return {category: score for category, score in values.items() if score is not None}

    def max_metrics(self) -> dict[str, float]:
        """Lighthouse audit id -> the most its numeric value may be, for the metrics that have a budget."""
        values: dict[str, float | None] = {
            "largest-contentful-paint": self.largest_contentful_paint_ms,
            "total-blocking-time": self.total_blocking_time_ms,
            "cumulative-layout-shift": self.cumulative_layout_shift,
        }
        return {audit: value for audit, value in values.items() if value is not None}


class PerformanceSettings(_Section):
    """The staging performance stage: load (Locust), budgets, the regression rule, Lighthouse CI."""

    users: int = Field(default=20, ge=1, le=1000, description="simulated users at full load")
    spawn_rate: float = Field(default=5.0, gt=0, le=100, description="users started per second (the ramp)")
    duration_seconds: int = Field(default=60, ge=10, le=1800, description="the run at full load, after the ramp")
    #: what each simulated user waits between two requests, in seconds (uniformly between the two)
    min_wait_seconds: float = Field(default=0.5, ge=0, le=60)
    max_wait_seconds: float = Field(default=2.0, ge=0, le=60)
    backend: tuple[LoadPath, ...] = (LoadPath(path="/api/health", p95_ms=800),)
    frontend: tuple[LoadPath, ...] = (LoadPath(path="/", p95_ms=1500),)
    #: a path whose p95 is more than this much worse than in the last successful run on the staging branch fails
    regression_percent: float = Field(default=20.0, gt=0, le=1000)
    #: ... unless its p95 grew by less than this (a few ms on a fast path are noise, not a regression)
    regression_floor_ms: int = Field(default=50, ge=0, le=10_000)
    #: a path with fewer requests than this in the run cannot be judged: the stage fails and says so
    min_requests: int = Field(default=20, ge=1, le=100_000)
    lighthouse: LighthouseSettings = LighthouseSettings()

    _paths_once = field_validator("backend", "frontend")(_unique_paths)

    @property
    def ramp_seconds(self) -> float:
        return self.users / self.spawn_rate

    @model_validator(mode="after")
    def _sensible_run(self) -> PerformanceSettings:
        if not self.backend and not self.frontend:
            raise ValueError("has no path to load: list at least one of backend or frontend")
        if self.min_wait_seconds > self.max_wait_seconds:
            raise ValueError(
                f"minWaitSeconds ({self.min_wait_seconds}) must not exceed maxWaitSeconds ({self.max_wait_seconds})"
            )
        if self.ramp_seconds > 120:
            raise ValueError(
                f"the ramp takes users/spawnRate = {self.ramp_seconds:g} s; keep it short (at most 120 s): "
                f"raise spawnRate to at least {self.users / 120:g}"
            )
        return self
