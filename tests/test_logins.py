"""Logins under abuse, load and faults (issue 15): argon2 off the event loop
in a bounded pool, failed logins throttled per account and per address,
request bodies capped before they are read, logout and revocation, the
absolute session lifetime.  Real server processes (the shared `server` and
`practice`), and the pool in process.

The shared server lets 127.0.0.1 fail 20 logins within 15 minutes before
it makes it wait: a test that fails logins on purpose sends them from an
address of its own (``X-Forwarded-For``, which uvicorn trusts from
127.0.0.1) and, to be throttled, with an account of its own."""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import threading
import time

import httpx
import jwt
import pytest
from conftest import PASSWORD, login
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


# -- failed logins slow the next ones down ------------------------------------------

def refused(response: httpx.Response, status: int, code: str) -> httpx.Response:
    assert response.status_code == status, (response.request.url, response.text)
    assert response.json() == {"error": {"code": code, "message": response.json()["error"]["message"]}}
    return response


def own_account(practice, role: str = "assistant") -> str:
    """A user of the practice for one test only (its own failed-login count), with its password chosen."""
    email = f"essai.{os.urandom(4).hex()}@cabinet-republique.fr"
    created = httpx.post(practice.server.http + "/v1/users", headers=practice.headers("admin"), timeout=30, json={
        "email": email, "name": "Camille Essai", "role": role, "password": PASSWORD, "temporary_password": False})
    assert created.status_code == 201, created.text
    return email


def attempt(server, email: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}  # uvicorn trusts it from 127.0.0.1 (a local proxy)
    return httpx.post(server.http + "/v1/auth/login", json={"email": email, "password": password}, headers=headers, timeout=30)


def test_guessing_an_account_gets_429_and_its_right_password_waits_too(practice):
    # from an address of its own: the shared server's 127.0.0.1 keeps its 20 free failures for the other tests
    server, email, address = practice.server, own_account(practice), f"192.0.2.{os.getpid() % 250 + 1}"

    async def burst(n: int) -> list[int]:  # n guesses at once: they cannot all pass before the first failures count
        async with httpx.AsyncClient(base_url=server.http, timeout=60, headers={"X-Forwarded-For": address}) as client:
            answers = await asyncio.gather(*(client.post("/v1/auth/login", json={"email": email, "password": f"guess {i}"})
                                             for i in range(n)))
        return sorted(a.status_code for a in answers)

    assert asyncio.run(burst(8)) == [401] * 5 + [429] * 3  # five failures are free
    waiting = refused(attempt(server, email.upper(), PASSWORD, address), 429, "too_many_attempts")  # the right one, unchecked
    assert 1 <= int(waiting.headers["retry-after"]) <= 2  # 2 s after the 5th failure, 4 s after the 6th …
    assert waiting.headers["cache-control"] == "private, no-store"
    assert attempt(server, practice.emails["assistant"], PASSWORD, address).status_code == 200  # another account: unaffected
    time.sleep(int(waiting.headers["retry-after"]) + 0.1)
    assert attempt(server, email, PASSWORD, address).status_code == 200  # the wait is over: checked, the count starts again
    refused(attempt(server, email, "not the password", address), 401, "invalid_credentials")
    assert attempt(server, email, PASSWORD, address).status_code == 200
    log = server.log()
    assert "login throttled: account " in log and f" from {address}, retry in " in log
    assert email not in log and email.split("@")[0] not in log  # the e-mail is logged as a keyed hash


def test_an_address_that_fails_too_often_waits_and_health_answers_meanwhile(practice):
    """16 concurrent failed logins of unknown e-mails from one address (16
    argon2 checks queued) while /v1/health is asked: it answers throughout;
    4 more make the address's 20 failures: then it waits, even for a real
    account's right password, while that account logs in from elsewhere."""
    server, address = practice.server, f"203.0.113.{os.getpid() % 250 + 1}"

    async def storm() -> tuple[list[int], int]:
        async with httpx.AsyncClient(base_url=server.http, timeout=60) as client:
            async def one(i: int) -> int:
                answer = await client.post("/v1/auth/login", headers={"X-Forwarded-For": address},
                                           json={"email": f"inconnu.{i}.{os.urandom(2).hex()}@example.fr", "password": "guess"})
                return answer.status_code

            logins = asyncio.gather(*(one(i) for i in range(16)))
            healths = 0
            while not logins.done():
                assert (await client.get("/v1/health", timeout=10)).json()["status"] == "ok"
                healths += 1
                await asyncio.sleep(0.02)
            return await logins, healths

    statuses, healths = asyncio.run(storm())
    assert statuses == [401] * 16 and healths >= 2
    for i in range(4):
        refused(attempt(server, f"inconnu.{i}@example.fr", "guess", address), 401, "invalid_credentials")
    email = practice.emails["assistant"]
    refused(attempt(server, email, PASSWORD, address), 429, "too_many_attempts")
    assert attempt(server, email, PASSWORD, "198.51.100.7").status_code == 200
    assert f"from {address}, retry in" in server.log()


def test_the_back_off_doubles_from_2_s_to_15_minutes():
    from chairside.throttle import backoff_s, retry_after

    assert [backoff_s(n, free=5) for n in range(1, 10)] == [0, 0, 0, 0, 2, 4, 8, 16, 32]
    assert backoff_s(14, free=5) == backoff_s(1000, free=5) == 900  # 2^10 s would be over 15 minutes
    assert [backoff_s(n, free=20) for n in (19, 20, 21)] == [0, 2, 4]
    assert (retry_after(0.01), retry_after(1.0), retry_after(1.2)) == ("1", "1", "2")


# -- logout, revocation, the session's end ------------------------------------------

def bearer_of(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_logout_revokes_every_token_of_the_user(practice):
    http, email = practice.server.http, own_account(practice)
    here, elsewhere = login(http, email, PASSWORD), login(http, email, PASSWORD)  # two devices
    assert httpx.get(http + "/v1/me", headers=bearer_of(here)).status_code == 200
    assert httpx.post(http + "/v1/auth/logout", headers=bearer_of(here)).status_code == 204
    refused(httpx.get(http + "/v1/me", headers=bearer_of(here)), 401, "token_revoked")
    refused(httpx.post(http + "/v1/auth/refresh", headers=bearer_of(here)), 401, "token_revoked")
    refused(httpx.post(http + "/v1/auth/refresh", headers=bearer_of(elsewhere)), 401, "token_revoked")
    refused(httpx.get(http + "/v1/rooms", headers=bearer_of(elsewhere)), 401, "token_revoked")
    again = login(http, email, PASSWORD)  # a new login is a new session
    assert httpx.get(http + "/v1/rooms", headers=bearer_of(again)).status_code == 200
    assert httpx.post(http + "/v1/auth/refresh", headers=bearer_of(again)).status_code == 200


def test_a_password_change_revokes_the_tokens_issued_before(practice):
    http, email = practice.server.http, own_account(practice)
    token, other = login(http, email, PASSWORD), login(http, email, PASSWORD)
    changed = httpx.post(http + "/v1/auth/password", headers=bearer_of(token), timeout=30,
                         json={"current_password": PASSWORD, "new_password": "a brand new passphrase"})
    assert changed.status_code == 204
    refused(httpx.get(http + "/v1/me", headers=bearer_of(token)), 401, "token_revoked")
    refused(httpx.post(http + "/v1/auth/refresh", headers=bearer_of(other)), 401, "token_revoked")
    fresh = login(http, email, "a brand new passphrase")  # at once after the change: valid
    assert httpx.get(http + "/v1/me", headers=bearer_of(fresh)).json()["email"] == email


@pytest.fixture(scope="module")
def signing_key(server) -> bytes:
    return server.signing_key


def test_a_refresh_keeps_the_login_time_and_the_session_ends_after_12_hours(practice, signing_key):
    http = practice.server.http
    answer = httpx.post(http + "/v1/auth/login", json={"email": practice.emails["assistant"], "password": PASSWORD}, timeout=30).json()
    logged_in = jwt.decode(answer["token"], options={"verify_signature": False})
    assert logged_in["auth_time"] == logged_in["iat"] and answer["expires_in"] == 900
    fresh = httpx.post(http + "/v1/auth/refresh", headers=bearer_of(answer["token"])).json()
    assert jwt.decode(fresh["token"], options={"verify_signature": False})["auth_time"] == logged_in["auth_time"]

    me = practice.get("/v1/me", "assistant").json()
    now = int(time.time())

    def token(auth_time: int) -> str:  # as the server signs them, logged in at auth_time
        return jwt.encode({"iss": "chairside", "sub": me["id"], "clinic": me["clinic"]["id"], "role": "assistant", "iat": now,
                           "iat_ms": now * 1000, "exp": now + 900, "auth_time": auth_time}, signing_key, algorithm="HS256")

    near_the_end = httpx.post(http + "/v1/auth/refresh", headers=bearer_of(token(now - 12 * 3600 + 60)))
    assert near_the_end.status_code == 200 and 0 < near_the_end.json()["expires_in"] <= 60  # not beyond the session's end
    refused(httpx.post(http + "/v1/auth/refresh", headers=bearer_of(token(now - 12 * 3600 - 1))), 401, "session_expired")
