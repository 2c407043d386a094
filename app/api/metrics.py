"""Prometheus metrics: request counts and latency, ingestion jobs by status, ingest speed.

Each service instance has its own ``CollectorRegistry`` (several apps can live in one
process, e.g. in tests). Request labels use the route template, never the raw path, so
hostile URLs cannot blow up the label space.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.worker import JobResult

if TYPE_CHECKING:
    from app.lifecycle.registry import Registry


class _JobsCollector(Collector):
    """Reads job counts from the registry at scrape time (the queue is the truth)."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "chronorag_ingestion_jobs", "Ingestion jobs by status.", labels=["status"]
        )
        for status, n in self._registry().job_counts().items():
            family.add_metric([status], n)
        yield family


class Metrics:
    """The service's metric objects and their exposition."""

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "chronorag_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "chronorag_http_request_duration_seconds",
            "HTTP request latency (until the response is fully sent).",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=self.registry,
        )
        self.ingest_ratio = Histogram(
            "chronorag_ingest_seconds_per_media_second",
            "Wall-clock ingestion seconds per second of media (ready jobs).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10),
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "chronorag_ingestion_jobs_finished",
            "Ingestion jobs finished by this process, by outcome.",
            ["status"],
            registry=self.registry,
        )
        self.registry.register(_JobsCollector(registry))

    def job_finished(self, result: JobResult) -> None:
        self.jobs_finished.labels(result.status).inc()
        if result.status == "ready" and result.duration_s:
            self.ingest_ratio.observe(result.seconds / result.duration_s)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware (does not buffer streaming responses) timing every request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if template != "unmatched" else "other"
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
