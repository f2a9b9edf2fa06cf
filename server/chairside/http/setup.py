"""The first start in the browser: on an empty store, the setup page creates
the practice, its first administrator and dentist, and its rooms.

Reachable only while the store has no practice, and only from the machine
the server runs on (the request comes from 127.0.0.1 or ::1, after a local
reverse proxy's X-Forwarded-For when uvicorn trusts it) or with the setup
code the server prints in its log on an empty store.
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response

from ..auth import error_response
from ..services import services
from ..store import accounts
from ..store.errors import AccountError
from ..tls import local_ca
from .common import BadRequest, body, ok

log = logging.getLogger(__name__)
LOCAL = {"127.0.0.1", "::1", "localhost"}


def _local(request: Request) -> bool:
    return request.client is not None and request.client.host in LOCAL


async def setup_state(request: Request) -> Response:
    """
    summary: Whether the first practice is still to be set up (an empty store), whether this caller needs the setup code printed in the server's log, and whether the server's HTTPS certificate comes from its local CA (a new PC trusts /ca.pem once).
    tags: [setup]
    security: []
    responses:
      200: {description: '{"needed": bool, "code_required": bool, "local_ca": bool}, and "ca_http_port": the plain-HTTP port that hands out /ca.pem, when there is one'}
    """
    needed = await accounts.clinic_count(services(request).database.pool) == 0
    settings = services(request).settings
    answer = {"needed": needed, "code_required": needed and not _local(request), "local_ca": local_ca(settings)}
    if answer["local_ca"] and settings.http_redirect_port:
        answer["ca_http_port"] = settings.http_redirect_port  # where a PC that does not trust the CA yet gets it
    return ok(answer)


async def set_up(request: Request) -> Response:
    """
    summary: Set up the first practice of an empty store (its details, first administrator and dentist, rooms); the passwords are the ones these two chose.
    tags: [setup]
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Setup'}
    responses:
      201: {description: 'The practice, the two users (id, email) and the rooms'}
      400: {description: 'A missing or bad value, named by its part ("dentist.rpps: …")'}
      403: {description: 'Not from the server machine, and no setup code or a wrong one'}
      409: {description: The store has a practice already}
    """
    svc = services(request)
    pool = svc.database.pool
    if await accounts.clinic_count(pool):
        return error_response(409, "already_set_up", "the practice is set up: log in (GET /)")
    try:
        data = await body(request)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    if not _local(request):
        code = data.get("code")
        if not isinstance(code, str) or not code.strip():
            return error_response(403, "setup_code_required", "from another machine, send the setup code printed in the server's log")
        if not hmac.compare_digest(code.strip().upper().replace(" ", ""), svc.tokens.setup_code()):
            log.warning("setup refused: wrong setup code")
            return error_response(403, "wrong_setup_code", "this is not the setup code printed in the server's log")
    parts = {k: data.get(k) for k in ("practice", "admin", "dentist")}
    for name, value in parts.items():
        if not isinstance(value, dict):
            return error_response(400, "invalid_request", f"{name}: an object is required")
    rooms = data.get("rooms", ["Fauteuil 1"])
    if not isinstance(rooms, list):
        return error_response(400, "invalid_request", "rooms: a list of names")
    try:
        created = await accounts.set_up(pool, parts["practice"], parts["admin"], parts["dentist"], rooms)
    except AccountError as exc:
        return error_response(400, "invalid_request", str(exc))
    if created is None:
        return error_response(409, "already_set_up", "the practice is set up: log in (GET /)")
    log.info("first practice set up (%d rooms)", len(created["rooms"]))
    created["practice"]["id"] = str(created["practice"]["id"])
    return ok(created, 201)
