"""Logins under abuse, load and faults (issue 15): argon2 off the event loop
in a bounded pool, failed logins throttled per account and per address,
request bodies capped before they are read, logout and revocation, the
absolute session lifetime.  Real server processes (the shared `server` and
`practice`), and the pool in process."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading

import httpx
import pytest
from starlette.routing import Route

from chairside.app import create_app
from chairside.http.limits import BODY_LIMITS, DEFAULT_BODY_LIMIT, BodyLimit
from chairside.store.passwords import PasswordsBusy, PasswordWork


async def test_the_password_pool_runs_off_the_loop_and_refuses_beyond_its_bound():
    work = PasswordWork(workers=1, max_waiting=1)
    gate = threading.Event()
    running = asyncio.ensure_future(work.run(lambda: gate.wait(5)))  # holds the one thread
    waiting = asyncio.ensure_future(work.run(lambda: "second"))  # waits for it
    await asyncio.sleep(0.05)  # the loop is free meanwhile
    assert work.pending == 2
    with pytest.raises(PasswordsBusy) as refused:
        await work.run(lambda: "third")
    assert refused.value.retry_after_s >= 1
    gate.set()
    assert await running is True and await waiting == "second"
    assert work.pending == 0 and await work.run(lambda: "again") == "again"
    work.close()


# -- bodies capped before they are read -------------------------------------------

BIG = 64 * 1024 * 1024


def send_big_body(port: int, path: str, chunked: bool) -> tuple[bytes, int]:
    """POST a 64 MiB body (announced by Content-Length, or chunked with no
    length) while reading: the server's answer, and how much of the body was
    sent before it came (the rest never is)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: chairside\r\nContent-Type: application/json\r\n"
    sock.sendall((head + ("Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {BIG}\r\n\r\n")).encode())
    block = b"x" * 65536
    frame = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
    sock.setblocking(False)
    sent, answer, pending = 0, b"", b""
    try:
        while sent < BIG and b"\r\n\r\n" not in answer:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            elif writable:
                pending = pending or frame
                done = sock.send(pending)
                sent, pending = sent + done, pending[done:]
            else:
                break
        sock.setblocking(True)
        while b"payload_too_large" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed the connection after its answer
    finally:
        sock.close()
    return answer, sent


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_64_mib_login_body_is_refused_before_it_is_read(server, chunked):
    answer, sent = send_big_body(server.port, "/v1/auth/login", chunked)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower() and b'"code":"payload_too_large"' in answer
    assert sent < BIG // 4  # answered long before the body was sent: the rest is never read
    assert server.health()["status"] == "ok"


def test_route_caps_and_a_patient_body_over_the_default_cap(practice):
    http = practice.server.http
    too_big = httpx.post(http + "/v1/users", headers=practice.headers("admin"), content=b"{" + b" " * 17000 + b"}")
    assert too_big.status_code == 413 and too_big.json() == {"error": {"code": "payload_too_large", "message": too_big.json()["error"]["message"]}}
    assert too_big.headers["cache-control"] == "private, no-store"
    # 30 allergies of 100 characters, escaped as JSON does: over 16 KiB, under the patients' 64 KiB
    patient = {"last_name": "Ortiz", "first_name": "Anaïs", "sex": "F", "allergies": [f"{i:02d} " + "é" * 97 for i in range(30)]}
    content = json.dumps(patient).encode()
    assert 16 * 1024 < len(content) < 64 * 1024
    created = httpx.post(http + "/v1/patients", content=content, headers={**practice.headers("dentist"), "Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    assert len(created.json()["allergies"]) == 30


def test_every_route_with_a_body_has_its_cap():
    """The caps name routes that exist; every other POST / PATCH takes the
    default 16 KiB (a new route with big bodies must say so here)."""
    methods = {(m, r.path) for r in create_app().routes if isinstance(r, Route) for m in r.methods}
    assert set(BODY_LIMITS) <= methods
    limit = BodyLimit(None)
    assert limit.limit("PATCH", "/v1/patients/0123456789abcdef0123456789abcdef") == 64 * 1024
    assert limit.limit("POST", "/v1/webrtc/offer") == 256 * 1024
    assert limit.limit("POST", "/v1/patients/0123/export") == limit.limit("POST", "/v1/auth/login") == DEFAULT_BODY_LIMIT
