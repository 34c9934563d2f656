"""Prometheus metrics, one registry per application (no global state, so tests can run many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("berry_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("berry_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 registry=self.registry)
        self.ingested = Counter("berry_messages_ingested_total", "Inbound messages stored", ["channel"],
                                registry=self.registry)
        self.duplicates = Counter("berry_messages_duplicate_total", "Inbound duplicates dropped", ["channel"],
                                  registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
