"""The practice's users and rooms."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from ..auth import ADMIN, ANYONE, PRIVATE, Principal, authorized, error_response
from ..services import services
from ..store import accounts, rooms
from .common import BadRequest, body, given_id, handles_bad_input, not_found, ok

log = logging.getLogger(__name__)


@authorized(*ADMIN)
async def list_users(request: Request, who: Principal) -> Response:
    """
    summary: The practice's users.
    tags: [users]
    responses:
      200: {description: Users (no password hashes)}
    """
    rows = await accounts.users_of(services(request).pool, who.clinic_id)
    return ok([{"id": r["id"], "email": r["email"], "name": r["name"], "role": r["role"], "rpps": r["rpps"],
                "disabled": r["disabled_at"] is not None} for r in rows])


@authorized(*ADMIN)
@handles_bad_input
async def create_user(request: Request, who: Principal) -> Response:
    """
    summary: Add a user to the practice.
    tags: [users]
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/NewUser'}
    responses:
      201: {description: The user's id}
      400: {description: 'A missing or invalid field, a password under 12 characters, an e-mail in use'}
    """
    data = await body(request)
    fields = {k: data.get(k) for k in ("email", "name", "role", "password")}
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise BadRequest("email, name, role and password are required")
    user = await accounts.create_user(services(request).pool, who.clinic_id, rpps=data.get("rpps") or "",
                                      phone=data.get("phone"), **fields)
    return ok({"id": user.id, "email": user.email, "name": user.name, "role": user.role}, 201)


@authorized(*ADMIN)
async def disable_user(request: Request, who: Principal) -> Response:
    """
    summary: Disable a user of the practice (they can no longer log in or refresh a token; their current token ends within its lifetime). Their name stays on what they signed.
    tags: [users]
    parameters:
      - {name: user_id, in: path, required: true, schema: {type: string}}
    responses:
      204: {description: Disabled}
      400: {description: An admin disabling themselves}
      404: {description: No such user in your practice}
    """
    user_id = given_id(request.path_params["user_id"])
    if user_id is not None and user_id == who.user_id:
        return error_response(400, "invalid_request", "an admin cannot disable themselves")
    if user_id is None or not await accounts.disable_user(services(request).pool, who.clinic_id, user_id):
        return not_found("user")
    log.info("user %s disabled", user_id[:8])
    return Response(status_code=204, headers=PRIVATE)


@authorized(*ANYONE)
async def list_rooms(request: Request, who: Principal) -> Response:
    """
    summary: The practice's rooms (chairs), with whether a dictation is live in each.
    tags: [rooms]
    responses:
      200: {description: Rooms}
    """
    rows = await rooms.rooms_of(services(request).pool, who.clinic_id)
    return ok([{"id": r["id"], "name": r["name"], "last_seq": r["last_seq"], "live": r["live"]} for r in rows])


@authorized(*ADMIN)
@handles_bad_input
async def create_room(request: Request, who: Principal) -> Response:
    """
    summary: Add a room (a chair) to the practice.
    tags: [rooms]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [name], properties: {name: {type: string}}}
    responses:
      201: {description: The room's id}
      400: {description: 'No name, or a name in use'}
    """
    name = (await body(request)).get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("a room needs a name")
    room_id = await rooms.create_room(services(request).pool, who.clinic_id, name.strip())
    return ok({"id": room_id, "name": name.strip()}, 201)
