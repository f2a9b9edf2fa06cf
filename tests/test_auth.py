"""Authentication and authorization on a real server: login, refresh, and the
refusal matrix — every endpoint, HTTP and WebSocket, with no token, an
invalid one, an expired one, a role that may not, and another practice's
token — each refused with the right status and nothing leaked."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import jwt
import pytest
import websockets
from conftest import PASSWORD, bearer, create_practice, login
from factories import CONTEXT
from starlette.routing import Route

from chairside.app import create_app

ROLES = ("dentist", "assistant", "admin")


@pytest.fixture(scope="module")
def other(server, practice):
    """A second practice on the same server."""
    return create_practice(server, "Cabinet des Lilas", patient=("Lefèvre", "Marc"))


@pytest.fixture(scope="module")
def ids(practice) -> dict:
    """Real ids of the first practice: a session with a validated document."""
    async def dictate() -> list[dict]:
        async with websockets.connect(practice.server.ws) as ws:
            await ws.send(json.dumps({"type": "start", "token": practice.tokens["dentist"], "room": practice.rooms[0],
                                      "patient": practice.patient["id"], "lab": CONTEXT["lab"]}))
            for text in ("Nouvelle ordonnance.", "Amoxicilline un gramme matin et soir pendant sept jours.", "Valide.", "Oui.", "Aperçu."):
                await ws.send(json.dumps({"type": "text", "text": text}))
            await ws.send(json.dumps({"type": "stop"}))
            return [json.loads(m) async for m in ws]

    events = asyncio.run(dictate())
    document = [e for e in events if e["type"] == "document.ready"][0]
    return {"patient_id": practice.patient["id"], "session_id": events[0]["session_id"], "document_id": document["document_id"],
            "room": practice.rooms[0], "room_id": practice.rooms[0], "user_id": practice.get("/v1/me", "assistant").json()["id"]}


@pytest.fixture(scope="module")
def expired(server, practice) -> str:
    """A dentist's token signed with the server's own key, expired a minute ago."""
    secret = server.signing_key
    me = practice.get("/v1/me").json()
    now = int(time.time())
    return jwt.encode({"iss": "chairside", "sub": me["id"], "clinic": me["clinic"]["id"], "role": "dentist",
                       "iat": now - 1000, "exp": now - 60}, secret, algorithm="HS256")


def routes() -> list[tuple[str, str, tuple[str, ...]]]:
    """Every protected HTTP route of the application: (method, path, roles)."""
    found = []
    for route in create_app().routes:
        roles = getattr(getattr(route, "endpoint", None), "roles", None)
        if isinstance(route, Route) and roles:
            found += [(m, route.path, roles) for m in sorted(route.methods - {"HEAD"})]
    return found


def url(path: str, ids: dict) -> str:
    return path.format(**ids)


def call(server, method: str, path: str, headers: dict | None = None) -> httpx.Response:
    return httpx.request(method, server.http + path, headers=headers or {}, json={} if method in ("POST", "PATCH") else None, timeout=30)


def assert_refused(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"code", "message"}, body  # nothing but the reason
    if code:
        assert body["error"]["code"] == code
    assert response.headers["cache-control"] == "private, no-store"


def test_every_protected_route_is_in_the_matrix():
    paths = {p for _, p, _ in routes()}
    assert {"/v1/patients", "/v1/patients/{patient_id}/export", "/v1/sessions/{session_id}/utterances",
            "/v1/documents/{document_id}.pdf", "/v1/users", "/v1/auth/refresh"} <= paths
    public = {r.path for r in create_app().routes if isinstance(r, Route) and not getattr(r.endpoint, "roles", None)}
    # the setup: only on an empty store; the CA: a public certificate; the metrics:
    # loopback or an admin's token (tests/test_metrics.py)
    assert public == {"/v1/health", "/openapi.json", "/v1/auth/login", "/v1/setup", "/ca.pem", "/metrics"}


def test_login_gives_a_short_lived_token(practice):
    response = httpx.post(practice.server.http + "/v1/auth/login", json={"email": practice.emails["assistant"].upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["user"]["role"] == "assistant"
    assert PASSWORD not in response.text and "password_hash" not in response.text and "argon2" not in response.text
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900 and claims["role"] == "assistant"


@pytest.mark.parametrize("payload", [
    {"email": "nobody@cabinet-republique.fr", "password": PASSWORD},
    {"email": "dentist@cabinet-republique.fr", "password": "wrong password!"},
])
def test_wrong_credentials_get_one_answer(practice, payload):
    if payload["email"].startswith("dentist"):
        payload = {**payload, "email": practice.emails["dentist"]}
    response = httpx.post(practice.server.http + "/v1/auth/login", json=payload)
    assert_refused(response, 401, "invalid_credentials")
    assert response.json()["error"]["message"] == "wrong e-mail or password"


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"email": 3, "password": "x"}', b"{}"])
def test_malformed_logins_are_400(server, body):
    assert_refused(httpx.post(server.http + "/v1/auth/login", content=body), 400, "invalid_request")


def test_refresh_gives_a_new_token(practice):
    response = httpx.post(practice.server.http + "/v1/auth/refresh", headers=practice.headers("assistant"))
    assert response.status_code == 200
    fresh = response.json()["token"]
    assert fresh != practice.tokens["assistant"]
    assert httpx.get(practice.server.http + "/v1/me", headers=bearer(fresh)).json()["role"] == "assistant"


def test_no_token_invalid_token_and_expired_token_are_401(server, ids, expired):
    tampered = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
    for method, path, _ in routes():
        target = url(path, ids)
        response = call(server, method, target)
        assert_refused(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert_refused(call(server, method, target, bearer(expired)), 401, "token_expired")
        assert_refused(call(server, method, target, bearer(tampered)), 401, "invalid_token")
        assert_refused(call(server, method, target, {"Authorization": "Basic ZG9jOnNlY3JldA=="}), 401, "unauthenticated")


def test_roles_that_may_not_are_403(practice, ids):
    for method, path, roles in routes():
        for role in ROLES:
            if role not in roles:
                assert_refused(call(practice.server, method, url(path, ids), practice.headers(role)), 403, "forbidden")


def test_another_practice_sees_nothing(practice, other, ids):
    """Another practice's users, in a role that may call the route: a
    resource of the first practice is "not found"; a listing shows none of
    its data."""
    secrets_of_first = [ids["patient_id"], ids["session_id"], ids["document_id"], ids["user_id"], "Durand", practice.emails["dentist"]]
    for method, path, roles in routes():
        if path == "/v1/auth/logout":
            continue  # it would revoke the other practice's own tokens (tests/test_logins.py)
        role = roles[0]
        response = call(other.server, method, url(path, ids), other.headers(role))
        if "{" in path:
            assert_refused(response, 404, "not_found")
        elif method == "GET":
            assert response.status_code == 200, (path, response.text)
            assert not any(s in response.text for s in secrets_of_first), (path, response.text)
    # and the first practice does see them
    assert practice.get(f"/v1/documents/{ids['document_id']}.pdf").status_code == 200


def test_a_user_changes_their_password_and_an_admin_disables_a_user(practice):
    http, admin = practice.server.http, practice.headers("admin")
    email = "remplacante@cabinet-republique.fr"
    created = httpx.post(http + "/v1/users", headers=admin, json={"email": email, "name": "Dr Inès Roux", "role": "dentist",
                                                                  "password": PASSWORD, "rpps": "10101234564"})
    assert created.status_code == 201 and created.json()["must_change_password"] is True  # a temporary password
    answer = httpx.post(http + "/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    assert answer["user"]["must_change_password"] is True
    token = bearer(answer["token"])
    # until it is changed, the token is good for the change, who one is and a refresh only
    assert_refused(httpx.get(http + "/v1/patients", headers=token), 403, "password_change_required")
    assert httpx.get(http + "/v1/me", headers=token).json()["must_change_password"] is True
    assert httpx.post(http + "/v1/auth/refresh", headers=token).json()["user"]["must_change_password"] is True
    event, code = asyncio.run(ws_refusal(practice.server.ws, {"type": "start", "token": answer["token"]}))
    assert (event["code"], code) == ("password_change_required", 4403)
    change = lambda current, new: httpx.post(http + "/v1/auth/password", headers=token, json={"current_password": current, "new_password": new})
    assert_refused(change(PASSWORD, "short"), 400, "invalid_request")
    assert_refused(change("not my password", "a long enough new one"), 403, "wrong_password")
    assert_refused(change(PASSWORD, PASSWORD), 400, "invalid_request")
    assert change(PASSWORD, "a long enough new one").status_code == 204
    assert_refused(httpx.post(http + "/v1/auth/login", json={"email": email, "password": PASSWORD}), 401, "invalid_credentials")
    token = bearer(login(http, email, "a long enough new one"))
    assert httpx.get(http + "/v1/patients", headers=token).status_code == 200
    assert httpx.get(http + "/v1/me", headers=token).json()["must_change_password"] is False

    me = practice.get("/v1/me", "admin").json()["id"]
    assert_refused(httpx.delete(http + f"/v1/users/{me}", headers=admin), 400, "invalid_request")
    assert httpx.delete(http + f"/v1/users/{created.json()['id']}", headers=admin).status_code == 204
    assert_refused(httpx.post(http + "/v1/auth/login", json={"email": email, "password": "a long enough new one"}), 401, "invalid_credentials")
    assert_refused(httpx.post(http + "/v1/auth/refresh", headers=token), 401, "invalid_token")
    assert_refused(httpx.get(http + "/v1/patients", headers=token), 401, "invalid_token")  # at once, not when it expires
    listed = {u["email"]: u["disabled"] for u in practice.get("/v1/users", "admin").json()}
    assert listed[email] is True and listed[practice.emails["dentist"]] is False


async def ws_refusal(address: str, first: dict, headers: dict | None = None) -> tuple[dict, int]:
    async with websockets.connect(address, additional_headers=headers or {}) as ws:
        await ws.send(json.dumps(first))
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return event, ws.close_code


def test_websockets_refuse_with_close_codes(practice, other, ids, expired):
    server = practice.server
    stream, room = server.ws, f"ws://127.0.0.1:{server.port}/v1/rooms/{ids['room']}/events"
    cases = [
        (stream, {"type": "start"}, "unauthenticated", 4401),
        (stream, {"type": "start", "token": expired}, "token_expired", 4401),
        (stream, {"type": "start", "token": practice.tokens["assistant"]}, "forbidden", 4403),
        (stream, {"type": "start", "token": practice.tokens["admin"]}, "forbidden", 4403),
        (stream, {"type": "start", "token": other.tokens["dentist"], "room": ids["room"]}, "not_found", 4404),
        (stream, {"type": "start", "token": other.tokens["dentist"], "patient": ids["patient_id"]}, "not_found", 4404),
        (stream, {"type": "start", "token": other.tokens["dentist"], "resume": ids["session_id"]}, "not_found", 4404),
        (room, {"type": "hello"}, "unauthenticated", 4401),
        (room, {"type": "hello", "token": expired}, "token_expired", 4401),
        (room, {"type": "hello", "token": practice.tokens["admin"]}, "forbidden", 4403),
        (room, {"type": "hello", "token": other.tokens["assistant"]}, "not_found", 4404),
    ]
    for address, first, code, close_code in cases:
        event, closed_with = asyncio.run(ws_refusal(address, first))
        assert (event["type"], event["code"], closed_with) == ("error", code, close_code), (first, event)
        assert "Durand" not in event["message"]
    # the token may come in the handshake's Authorization header instead
    event, _ = asyncio.run(ws_refusal(room, {"type": "hello"}, bearer(other.tokens["assistant"])))
    assert event["code"] == "not_found"


def test_the_documents_list_filters_by_kind_and_day_and_names_who_validated(practice, ids):
    from datetime import date, timedelta

    today = date.today()
    listed = lambda query: [d["id"] for d in practice.get(f"/v1/documents{query}").json()]
    assert ids["document_id"] in listed("?kind=prescription")
    assert ids["document_id"] not in listed("?kind=medical_certificate")
    assert ids["document_id"] in listed(f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}")
    assert ids["document_id"] not in listed(f"?from={today + timedelta(days=2)}")
    assert ids["document_id"] not in listed(f"?to={today - timedelta(days=2)}")
    doc = next(d for d in practice.get("/v1/documents").json() if d["id"] == ids["document_id"])
    assert doc["validated_by_name"] == "Dr Claire Martin" and doc["versions"] == 1
    assert_refused(practice.get("/v1/documents?kind=invoice"), 400, "invalid_request")
    assert_refused(practice.get("/v1/documents?from=yesterday"), 400, "invalid_request")


def test_an_admin_changes_the_practice_a_user_and_a_room_and_a_user_their_profile(practice, other):
    http, admin = practice.server.http, practice.headers("admin")
    changed = httpx.patch(http + "/v1/practice", headers=admin, json={"phone": "04 78 00 00 02"})
    assert changed.status_code == 200 and changed.json()["phone"] == "+33 4 78 00 00 02"
    assert practice.get("/v1/practice", "assistant").json()["phone"] == "+33 4 78 00 00 02"
    assert_refused(httpx.patch(http + "/v1/practice", headers=admin, json={"phone": "12"}), 400, "invalid_request")
    assert_refused(httpx.patch(http + "/v1/practice", headers=practice.headers("dentist"), json={"phone": "12"}), 403, "forbidden")
    assistant = practice.get("/v1/me", "assistant").json()["id"]
    assert httpx.patch(http + f"/v1/users/{assistant}", headers=admin, json={"phone": "06 11 22 33 44"}).json()["phone"] == "+33 6 11 22 33 44"
    bad = httpx.patch(http + f"/v1/users/{assistant}", headers=admin, json={"rpps": "10101234564"})
    assert_refused(bad, 400, "invalid_request")
    assert bad.json()["error"]["message"].startswith("rpps: ")
    me = practice.get("/v1/me", "admin").json()["id"]
    assert_refused(httpx.patch(http + f"/v1/users/{me}", headers=admin, json={"role": "dentist"}), 400, "invalid_request")
    assert_refused(httpx.patch(http + f"/v1/users/{assistant}", headers=other.headers("admin"), json={"name": "X"}), 404, "not_found")
    profile = httpx.patch(http + "/v1/me", headers=practice.headers("dentist"), json={"phone": "06 99 88 77 66"})
    assert profile.status_code == 200 and profile.json()["phone"] == "+33 6 99 88 77 66" and profile.json()["rpps"] == "10101234564"
    assert_refused(httpx.patch(http + "/v1/me", headers=practice.headers("dentist"), json={"role": "admin"}), 400, "invalid_request")
    room = practice.rooms[1]
    renamed = httpx.patch(http + f"/v1/rooms/{room}", headers=admin, json={"name": "Fauteuil 2 (bloc)"})
    assert renamed.status_code == 200 and "Fauteuil 2 (bloc)" in [r["name"] for r in practice.get("/v1/rooms").json()]
    assert_refused(httpx.patch(http + f"/v1/rooms/{room}", headers=admin, json={"name": "Fauteuil 1"}), 400, "invalid_request")
    httpx.patch(http + f"/v1/rooms/{room}", headers=admin, json={"name": "Fauteuil 2"})
    # the shared practice as it was, for the tests that read its documents
    httpx.patch(http + "/v1/practice", headers=admin, json={"phone": "04 78 00 00 01"})
    httpx.patch(http + "/v1/me", headers=practice.headers("dentist"), json={"phone": ""})
    httpx.patch(http + f"/v1/users/{assistant}", headers=admin, json={"phone": ""})


def test_health_says_only_ok_to_anyone_and_the_load_to_an_admin(practice):
    http = practice.server.http
    assert httpx.get(http + "/v1/health").json() == {"status": "ok"}
    assert httpx.get(http + "/v1/health", headers=practice.headers("dentist")).json() == {"status": "ok"}
    load = httpx.get(http + "/v1/health", headers=practice.headers("admin")).json()
    assert load["status"] == "ok" and {"sessions_active", "screens", "asr_queue", "model"} <= set(load)


async def last_message(ws) -> dict | None:
    """The last message a socket gets before the server closes it."""
    last = None
    try:
        async for message in ws:
            last = json.loads(message)
    except websockets.ConnectionClosed:
        pass
    return last


def test_open_connections_honour_their_tokens(tmp_path_factory):
    """On a server whose tokens last 4 s: a dictation whose token is not
    renewed is closed (token_expired, 4401); one that sends a fresh token
    ({"type": "token"}) goes on; a screen whose user is disabled is closed
    within seconds (invalid_token, 4401).

    The three run together on one event loop, so every blocking HTTP call
    (a login hashes with argon2) goes to a thread: one scenario's logins
    must not delay another's token renewal past the token's end."""
    from conftest import start_server, stop_server

    server = start_server(tmp_path_factory.mktemp("short-tokens"), token_ttl_s="4", token_check_s="0.5")
    try:
        practice = create_practice(server)
        http = server.http
        room = f"ws://127.0.0.1:{server.port}/v1/rooms/{practice.rooms[0]}/events"

        async def dictation(renew: bool) -> tuple[list[dict], int, float]:
            token = await asyncio.to_thread(login, http, practice.emails["dentist"], PASSWORD)
            started = time.monotonic()
            events = []
            async with websockets.connect(server.ws) as ws:
                await ws.send(json.dumps({"type": "start", "token": token}))
                if renew:
                    fresh = token
                    while time.monotonic() < started + 5:  # past the first token's end, renewing as a client does
                        await asyncio.sleep(1.5)
                        refreshed = await asyncio.to_thread(httpx.post, http + "/v1/auth/refresh", headers=bearer(fresh))
                        fresh = refreshed.json()["token"]
                        await ws.send(json.dumps({"type": "token", "token": fresh}))
                    await ws.send(json.dumps({"type": "text", "text": "Bonjour."}))
                    await ws.send(json.dumps({"type": "stop"}))
                try:
                    async for message in ws:
                        events.append(json.loads(message))
                except websockets.ConnectionClosed:
                    pass
                return events, ws.close_code, time.monotonic() - started

        async def screen_of_a_disabled_user() -> tuple[dict, int, float]:
            token = await asyncio.to_thread(login, http, practice.emails["assistant"], PASSWORD)
            assistant = (await asyncio.to_thread(practice.get, "/v1/me", "assistant")).json()["id"]
            admin = bearer(await asyncio.to_thread(login, http, practice.emails["admin"], PASSWORD))
            async with websockets.connect(room) as ws:
                await ws.send(json.dumps({"type": "hello", "token": token}))
                await asyncio.sleep(0.5)
                deleted = await asyncio.to_thread(httpx.delete, f"{http}/v1/users/{assistant}", headers=admin)
                assert deleted.status_code == 204
                disabled = time.monotonic()
                last = await last_message(ws)
                return last, ws.close_code, time.monotonic() - disabled

        async def dictation_then_logout() -> tuple[dict, int]:
            token = login(http, practice.emails["dentist"], PASSWORD)
            async with websockets.connect(server.ws) as ws:
                await ws.send(json.dumps({"type": "start", "token": token}))
                first = json.loads(await ws.recv())
                assert first["type"] == "ready", first
                assert httpx.post(http + "/v1/auth/logout", headers=bearer(token)).status_code == 204
                last = await last_message(ws)
                return last, ws.close_code

        async def scenario():
            return await asyncio.gather(dictation(False), dictation(True), screen_of_a_disabled_user())

        (expired, code, lasted), (renewed, renewed_code, _), (last, screen_code, after) = asyncio.run(scenario())
        revoked, revoked_code = asyncio.run(dictation_then_logout())  # after the others: a logout ends all the dentist's tokens
        assert revoked["code"] == "token_revoked" and revoked_code == 4401
        assert expired[-1]["type"] == "error" and expired[-1]["code"] == "token_expired" and code == 4401 and 3 < lasted < 9
        assert renewed[-1]["type"] == "closed" and renewed[-1]["reason"] == "stop" and renewed_code == 1000, renewed[-3:]
        assert any(e["type"] == "final" and e["text"] == "Bonjour." for e in renewed)
        assert last["code"] == "invalid_token" and screen_code == 4401 and after < 2  # the token itself still had time
    finally:
        stop_server(server)
