"""What the server measures, in Prometheus's format (``GET /metrics``).

Latencies are those a dentist feels, measured where they happen:

- ``chairside_final_latency_seconds``: from the VAD's ``speech_end`` to the
  utterance's last final, both as the session sends them (what
  ``scripts/bench_stream.py`` measures from the client);
- ``chairside_partial_lag_seconds``: audio received − audio a partial
  covers, when the partial is sent (how far behind the speaker the screen is);
- ``chairside_decode_wait_seconds`` / ``chairside_decode_seconds``: a decode's
  wait for a recognizer thread, and its run, by kind (final or partial);
- ``chairside_final_contexts_total{context}``: finals after a short pause,
  decoded with the phrase before (``whole``) or alone as finals came late
  and another was decoding or waiting (``busy``);
- ``chairside_document_render_seconds``: one PDF;
- ``chairside_room_fanout_lag_seconds``: from a room event's write in
  PostgreSQL (by any replica) to its offer to this replica's screens;
- ``chairside_errors_total{code}``: errors sent to clients (REST and
  sockets) by their code.

Gauges are read when scraped (:class:`Live`): sessions and screens live,
decodes waiting, the PostgreSQL pool's connections. One registry per
process (:data:`REGISTRY`), not the library's global one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from .services import Services

REGISTRY = CollectorRegistry(auto_describe=True)

# Fine buckets where dictation lives (0.1–2 s), so that quantiles read from
# them are within a few percent of the exact ones.
LATENCY_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5,
                   1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 20.0)

FINAL_LATENCY = Histogram("chairside_final_latency_seconds", "VAD speech_end → the utterance's last final, as sent",
                          buckets=LATENCY_BUCKETS, registry=REGISTRY)
PARTIAL_LAG = Histogram("chairside_partial_lag_seconds", "Audio received minus audio covered, when a partial is sent",
                        buckets=LATENCY_BUCKETS, registry=REGISTRY)
DECODE_WAIT = Histogram("chairside_decode_wait_seconds", "A decode's wait for a recognizer thread", ["kind"],
                        buckets=LATENCY_BUCKETS, registry=REGISTRY)
DECODE_SECONDS = Histogram("chairside_decode_seconds", "One decode on a recognizer thread", ["kind"],
                           buckets=LATENCY_BUCKETS, registry=REGISTRY)
FINAL_CONTEXTS = Counter("chairside_final_contexts", "Final decodes after a short pause: decoded with the phrase before "
                         "(whole), with a shorter one as finals came late (short), or alone as finals came late and another was decoding or waiting (busy)", ["context"], registry=REGISTRY)
DECODES = Counter("chairside_decodes", "Decodes run, by kind", ["kind"], registry=REGISTRY)
DOCUMENT_RENDER = Histogram("chairside_document_render_seconds", "One PDF rendered", buckets=LATENCY_BUCKETS, registry=REGISTRY)
ROOM_FANOUT_LAG = Histogram("chairside_room_fanout_lag_seconds", "A room event's write in PostgreSQL → offered to this replica's screens",
                            buckets=LATENCY_BUCKETS, registry=REGISTRY)
ERRORS = Counter("chairside_errors", "Errors sent to clients, by code", ["code"], registry=REGISTRY)


def error(code: str) -> None:
    ERRORS.labels(code).inc()


class Live:
    """The gauges, read from the server's state when scraped."""

    def __init__(self, services: "Services") -> None:
        self.services = services

    def collect(self):
        svc = self.services
        yield GaugeMetricFamily("chairside_sessions_live", "Dictation sessions open on this server", value=len(svc.sessions))
        yield GaugeMetricFamily("chairside_screens_live", "Room screens fed by this server", value=len(svc.rooms.admitted))
        yield GaugeMetricFamily("chairside_decode_queue", "Decodes waiting for a recognizer thread", value=svc.engine.queued)
        pool = svc.database.pool
        connections = GaugeMetricFamily("chairside_db_pool_connections", "PostgreSQL connections of this server's pool",
                                        labels=["state"])
        size, idle = pool.get_size(), pool.get_idle_size()
        connections.add_metric(["in_use"], size - idle)
        connections.add_metric(["idle"], idle)
        connections.add_metric(["max"], pool.get_max_size())
        yield connections
