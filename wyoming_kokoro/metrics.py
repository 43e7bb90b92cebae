"""`GET /metrics`: how a replica is doing, in Prometheus' text format (`prometheus_client`).

One `CollectorRegistry` per server (not the library's global one), so that several servers in one
process (the tests) keep their own counts. What the adapters report as requests end (`request`, with
each request's `RequestLog`) is counted here; what the server holds now (jobs, stuck threads, the
audio cache, memory, readiness) is read from the engine, worker and server state at each scrape.

| metric | what |
|---|---|
| `kokoro_requests_total{protocol, outcome}` | requests ended, by `wyoming`/`http` and `ok` or the error code both protocols send |
| `kokoro_first_audio_seconds{protocol}` | histogram: request received → first audio, of requests that spoke |
| `kokoro_real_time_factor{protocol}` | histogram: synthesis time / audio time, of requests that spoke |
| `kokoro_audio_seconds_total{protocol}` | audio produced |
| `kokoro_jobs_in_flight`, `kokoro_jobs_queued` | jobs on the worker started / waiting for their first turn |
| `kokoro_abandoned_threads` | worker threads given up on inside a stuck chunk, still running |
| `kokoro_audio_cache_hits_total`, `kokoro_audio_cache_misses_total` | the audio cache's look-ups |
| `kokoro_ready` | 1 once warm-up has ended (what `/health` answers 200 for) |
| `process_resident_memory_bytes`, … | the process (prometheus_client's `ProcessCollector`) |
| `kokoro_engine_info{device, cpu_class, aten_isa, onednn_isa_cap, decoder_dtype, int8_convolutions, layout, model, version}` | what runs the model |
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    exposition,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from kokoro_engine import SAMPLE_RATE

from . import __version__
from .errors import wyoming_code

if TYPE_CHECKING:  # torch: imported by the engine when it loads, not by this module
    from kokoro_engine import KokoroEngine

    from .context import ServerConfig, ServerState
    from .worker import Worker

# Each request's line is the request path's (where operators look for it), not the metrics'.
_REQUEST_LOGGER = logging.getLogger("wyoming_kokoro.service")

# generate_latest writes the classic text format (names escaped to underscores): label it as that, so
# Prometheus 2.x reads it (prometheus_client >= 0.22 labels its latest as 1.0.0).
CONTENT_TYPE = getattr(exposition, "CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_LATEST)
FIRST_AUDIO_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
RTF_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)


class _CacheCollector(Collector):
    """The audio cache's own counters, read at each scrape (the engine counts them)."""

    def __init__(self, engine: KokoroEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        cache = self.engine.cache
        for name, value in (("hits", cache.hits if cache else 0), ("misses", cache.misses if cache else 0)):
            yield CounterMetricFamily(f"kokoro_audio_cache_{name}", f"Audio cache {name}", value=value)


class ServerMetrics:
    """The metrics of one server (one registry)."""

    def __init__(self, engine: KokoroEngine, worker: Worker, config: ServerConfig, state: ServerState) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("kokoro_requests", "Requests ended, by protocol and outcome (ok or error code)",
                                ["protocol", "outcome"], registry=registry)
        self.first_audio = Histogram("kokoro_first_audio_seconds", "Seconds from a request to its first audio",
                                     ["protocol"], buckets=FIRST_AUDIO_BUCKETS, registry=registry)
        self.rtf = Histogram("kokoro_real_time_factor", "Synthesis seconds per second of audio",
                             ["protocol"], buckets=RTF_BUCKETS, registry=registry)
        self.audio_seconds = Counter("kokoro_audio_seconds", "Seconds of audio produced", ["protocol"],
                                     registry=registry)
        Gauge("kokoro_jobs_in_flight", "Jobs on the worker that have started", registry=registry) \
            .set_function(lambda: worker.job_counts()[0])
        Gauge("kokoro_jobs_queued", "Jobs on the worker waiting for their first turn", registry=registry) \
            .set_function(lambda: worker.job_counts()[1])
        Gauge("kokoro_abandoned_threads", "Worker threads abandoned in a stuck chunk and still running",
              registry=registry).set_function(worker.abandoned_threads)
        Gauge("kokoro_ready", "1 once the warm-up has ended", registry=registry) \
            .set_function(lambda: float(state.ready))
        registry.register(_CacheCollector(engine))
        ProcessCollector(registry=registry)
        from kokoro_engine import kernels_in_use

        info = Info("kokoro_engine", "What runs the model", registry=registry)
        info.info({**kernels_in_use(engine.model), "model": config.model, "version": __version__})
        for protocol in ("wyoming", "http"):  # present from the first scrape, so rate() has a start
            self.requests.labels(protocol, "ok")
            self.audio_seconds.labels(protocol)

    def request(self, protocol: str, error: BaseException | None = None, log: RequestLog | None = None) -> None:
        """A request has ended: `error` None is `ok`, else its code as the client got it; `log` its
        timing (first audio and RTF are observed for requests that produced audio)."""
        outcome = "ok" if error is None else wyoming_code(error)
        self.requests.labels(protocol, outcome).inc()
        if log is None or not log.samples:
            return
        seconds = log.samples / SAMPLE_RATE
        self.audio_seconds.labels(protocol).inc(seconds)
        if error is None and log.first_audio is not None:
            self.first_audio.labels(protocol).observe(log.first_audio - log.start)
            self.rtf.labels(protocol).observe((time.monotonic() - log.start) / seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestLog:
    """One request's timing (first audio, RTF), logged as one INFO line when it ends."""

    def __init__(self, voice: str, chars: int) -> None:
        self.voice, self.chars = voice, chars
        self.start = time.monotonic()
        self.first_audio: float | None = None
        self.samples = 0

    def add(self, samples: int) -> None:
        if samples and self.first_audio is None:
            self.first_audio = time.monotonic()
        self.samples += samples

    def log(self) -> None:
        elapsed = time.monotonic() - self.start
        audio_s = self.samples / SAMPLE_RATE
        ttfa = (self.first_audio - self.start) if self.first_audio else float("nan")
        rtf = elapsed / audio_s if audio_s else float("nan")
        _REQUEST_LOGGER.info("voice=%s chars=%d audio=%.2fs first_audio=%.2fs rtf=%.3f",
                             self.voice, self.chars, audio_s, ttfa, rtf)
