"""The Compose deployment (issue 16). Docker is not available here: the
Compose file is checked against the Compose specification (``compose-spec``,
a strict parser) and for what a practice's deployment needs; its Caddyfile
runs for real — Debian's Caddy in front of two real Chairside replicas on
one PostgreSQL — with HTTPS from Caddy's own CA, WebSockets and sticky
sessions."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import time
import uuid

import httpx
import pytest
import websockets
from conftest import PASSWORD, ROOT, create_practice, free_port, start_server, stop_server
from test_store import fresh_database

DOCKER = ROOT / "docker"


def compose() -> dict:
    from compose_spec import PyCompose

    return PyCompose.from_yaml((DOCKER / "compose.yaml").read_text()).to_dict()  # ValueError if not the spec


def test_the_compose_file_is_a_deployment():
    c = compose()
    services = c["services"]
    assert set(services) == {"postgres", "chairside-1", "chairside-2", "caddy"}
    pg = services["postgres"]
    assert "pgdata:/var/lib/postgresql/data" in pg["volumes"] and "pg_isready" in str(pg["healthcheck"]["test"])
    one = services["chairside-1"]
    assert "@postgres:5432/" in one["environment"]["DATABASE_URL"]
    assert one["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert one["healthcheck"]["test"] == ["CMD", "chairside", "health"]  # 503 from /v1/health when PostgreSQL is down
    assert one["volumes"] == ["chairside-1:/var/lib/chairside"]
    two = services["chairside-2"]
    assert two["extends"] == {"service": "chairside-1"} and two["volumes"] == ["chairside-2:/var/lib/chairside"]
    caddy = services["caddy"]
    assert {"443:443", "80:80"} <= set(caddy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"] and "caddy-data:/data" in caddy["volumes"]
    assert one["environment"]["CHAIRSIDE_TRUSTED_PROXY"] == caddy["networks"]["chairside"]["ipv4_address"]
    assert {d: v["condition"] for d, v in caddy["depends_on"].items()} == {"chairside-1": "service_healthy", "chairside-2": "service_healthy"}
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(".")}
    assert named <= set(c["volumes"])  # every volume is a named one, kept across `up`
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "COPY client_web" in dockerfile and 'HEALTHCHECK CMD ["chairside", "health"]' in dockerfile
    env_example = (DOCKER / "env.example").read_text()
    assert "POSTGRES_PASSWORD=" in env_example


@pytest.fixture(scope="module")
def behind_caddy(tmp_path_factory, debian_postgres):
    """Two replicas on one database, and Caddy running docker/Caddyfile in front."""
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("Debian's caddy is not installed (scripts/test installs it)")
    tmp = tmp_path_factory.mktemp("caddy")
    url = asyncio.run(fresh_database(debian_postgres.url))
    replicas = [start_server(tmp_path_factory.mktemp(f"replica{i}"), database_url=url) for i in (1, 2)]
    practice = create_practice(replicas[0])
    https_port = free_port()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"), "HOME": str(tmp),
           "CADDY_HTTPS_PORT": str(https_port), "CADDY_HTTP_PORT": str(free_port()), "CHAIRSIDE_SITE": "127.0.0.1",
           "CHAIRSIDE_UPSTREAMS": " ".join(f"127.0.0.1:{r.port}" for r in replicas)}
    log = open(tmp / "caddy.log", "wb")
    process = subprocess.Popen([caddy, "run", "--config", str(DOCKER / "Caddyfile"), "--adapter", "caddyfile"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    root = tmp / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    base = f"https://127.0.0.1:{https_port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (tmp / "caddy.log").read_text()
        try:
            if root.exists() and httpx.get(base + "/v1/health", verify=ssl.create_default_context(cafile=str(root)), timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, (tmp / "caddy.log").read_text()
        time.sleep(0.3)
    yield {"base": base, "root": root, "replicas": replicas, "practice": practice}
    process.terminate()
    process.wait(timeout=10)
    for r in replicas:
        stop_server(r)


def test_caddy_serves_the_replicas_over_https_with_sticky_sessions_and_websockets(behind_caddy):
    s = behind_caddy
    trust = ssl.create_default_context(cafile=str(s["root"]))
    with httpx.Client(base_url=s["base"], verify=trust, timeout=10) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and "Chairside" in page.text
        assert page.headers["strict-transport-security"] == "max-age=31536000"  # the replica knows it is behind HTTPS
        assert "chairside_replica" in browser.cookies  # the replica this browser stays on
        marks = [f"/sticky-{uuid.uuid4().hex[:8]}" for _ in range(6)]
        for mark in marks:
            browser.get(mark)
        seen = [sum(mark in r.log() for mark in marks) for r in s["replicas"]]
        assert sorted(seen) == [0, len(marks)], seen  # every request on one replica
        token = browser.post("/v1/auth/login", json={"email": s["practice"].emails["dentist"], "password": PASSWORD}).json()["token"]

    async def dictate() -> list[dict]:
        async with websockets.connect(s["base"].replace("https", "wss") + "/v1/stream", ssl=trust) as ws:
            await ws.send(json.dumps({"type": "start", "token": token, "patient": s["practice"].patient["id"]}))
            for text in ("Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.", "Valide.", "Oui."):
                await ws.send(json.dumps({"type": "text", "text": text}))
            await ws.send(json.dumps({"type": "stop"}))
            return [json.loads(m) async for m in ws]

    events = asyncio.run(dictate())
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ready" and kinds[-1] == "closed" and "document.ready" in kinds, kinds
    with pytest.raises(httpx.ConnectError):  # a PC that has not trusted Caddy's root gets no page
        httpx.get(s["base"] + "/v1/health", timeout=10)
