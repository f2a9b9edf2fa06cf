"""``GET /metrics`` (issue 16): Prometheus's format, from the server's own
machine or with an admin's token, counting what a real dictation did."""

from __future__ import annotations

import asyncio

import httpx
from conftest import bearer
from prometheus_client.parser import text_string_to_metric_families

from chairside.client import stream_file


def scrape(server, **kwargs) -> dict[str, float]:
    """Every sample of /metrics: {"name{label=value,…}": value}."""
    response = httpx.get(server.http + "/metrics", timeout=10, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def test_metrics_count_a_real_dictation(server, corpus):
    before = scrape(server)
    assert before["chairside_sessions_live{}"] == 0
    assert before["chairside_db_pool_connections{state=max}"] == 10
    result = asyncio.run(stream_file(server.ws, corpus["fr_picovoice-cheetah_test_fr.wav"].path, realtime=False,
                                     token=server.token, trailing_silence_s=1.0))
    ended = [r for r in result.of("final") if r.event["end_of_utterance"]]
    after = scrape(server)

    def grew(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert ended and grew("chairside_final_latency_seconds_count{}") == len(ended)
    assert 0 < grew("chairside_final_latency_seconds_sum{}") < 10 * len(ended)
    assert grew("chairside_decodes_total{kind=final}") >= len(ended)
    assert grew("chairside_decode_wait_seconds_count{kind=final}") == grew("chairside_decodes_total{kind=final}")
    assert grew("chairside_partial_lag_seconds_count{}") == len(result.of("partial"))
    assert after["chairside_sessions_live{}"] == 0 and after["chairside_decode_queue{}"] == 0
    # errors by code, REST and sockets alike
    httpx.get(server.http + "/v1/patients", timeout=10)  # no token
    assert scrape(server)["chairside_errors_total{code=unauthenticated}"] >= before.get("chairside_errors_total{code=unauthenticated}", 0) + 1


def test_metrics_are_for_the_machine_or_an_admin(server):
    remote = {"X-Forwarded-For": "192.0.2.7"}  # as a PC of the practice comes through a local proxy
    assert httpx.get(server.http + "/metrics", headers=remote, timeout=10).status_code == 401
    dentist = httpx.get(server.http + "/metrics", headers={**remote, **bearer(server.token)}, timeout=10)
    assert dentist.status_code == 403
    assert "chairside_sessions_live{}" in scrape(server, headers={**remote, **bearer(server.admin_token)})


def test_the_sample_dashboard_reads_metrics_the_server_has(server):
    """docs/grafana/chairside-dashboard.json asks only for series /metrics serves."""
    import json
    import re

    from conftest import ROOT

    dashboard = json.loads((ROOT / "docs" / "grafana" / "chairside-dashboard.json").read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"chairside_[a-z_]+", target["expr"])}
    served = {key.split("{")[0] for key in scrape(server)}
    assert asked and asked <= served, asked - served
