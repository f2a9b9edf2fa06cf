"""The practice: its details, its users and rooms."""

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
    return ok([_user(r) for r in rows])


def _user(r) -> dict:
    return {"id": r["id"], "email": r["email"], "name": r["name"], "role": r["role"], "rpps": r["rpps"], "phone": r["phone"],
            "title": r["title"], "disabled": r["disabled_at"] is not None, "must_change_password": r["must_change_password"]}


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
    missing = [k for k, v in fields.items() if not isinstance(v, str) or not v]
    if missing:
        raise BadRequest(f"{missing[0]}: required (email, name, role and password are)")
    temporary = data.get("temporary_password", True)
    if not isinstance(temporary, bool):
        raise BadRequest("temporary_password: true or false")
    user = await accounts.create_user(services(request).pool, who.clinic_id, rpps=data.get("rpps") or "",
                                      phone=data.get("phone") or None, temporary=temporary, **fields)
    log.info("user %s created (%s)", user.id[:8], user.role)
    return ok({"id": user.id, "email": user.email, "name": user.name, "role": user.role,
               "must_change_password": user.must_change_password}, 201)


@authorized(*ADMIN)
@handles_bad_input
async def update_user(request: Request, who: Principal) -> Response:
    """
    summary: Change a user of the practice (name, phone, title, RPPS, role) or disable / enable them (disabled true / false).
    tags: [users]
    parameters:
      - {name: user_id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, properties: {name: {type: string}, phone: {type: string}, title: {type: string}, rpps: {type: string}, role: {type: string, enum: [dentist, assistant, admin]}, disabled: {type: boolean}}}
    responses:
      200: {description: The user}
      400: {description: 'A bad value (named: "role: …"), an admin disabling themselves or giving up their own admin role'}
      404: {description: No such user in your practice}
    """
    user_id = given_id(request.path_params["user_id"])
    if user_id is None:
        return not_found("user")
    data = await body(request)
    if user_id == who.user_id and (data.get("disabled") is True or data.get("role", "admin") != "admin"):
        raise BadRequest("an admin cannot disable themselves or give up their own admin role")
    row = await accounts.update_user(services(request).pool, who.clinic_id, user_id, data)
    if row is None:
        return not_found("user")
    log.info("user %s changed (%s)", user_id[:8], ", ".join(sorted(data)))
    return ok(_user(row))


@authorized(*ANYONE)
async def get_practice(request: Request, who: Principal) -> Response:
    """
    summary: The practice's details, as printed on its documents.
    tags: [practice]
    responses:
      200: {description: 'id, name, street, postcode, city, country, phone, email'}
    """
    return ok(await accounts.clinic_details(services(request).pool, who.clinic_id))


@authorized(*ADMIN)
@handles_bad_input
async def update_practice(request: Request, who: Principal) -> Response:
    """
    summary: Change the practice's details (name, street, postcode, city, country, phone, email). Validated documents keep those they were signed with; re-issue one with POST /v1/documents/{id}/rectify.
    tags: [practice]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, properties: {name: {type: string}, street: {type: string}, postcode: {type: string}, city: {type: string}, country: {type: string}, phone: {type: string}, email: {type: string}}}
    responses:
      200: {description: The practice's details}
      400: {description: 'A bad value, named ("phone: …")'}
    """
    details = await accounts.update_clinic(services(request).pool, who.clinic_id, await body(request))
    log.info("practice details changed")
    return ok(details)


@authorized(*ADMIN)
async def disable_user(request: Request, who: Principal) -> Response:
    """
    summary: Disable a user of the practice (they can no longer log in, and the REST API refuses their tokens at once). Their name stays on what they signed.
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
        raise BadRequest("name: a room needs a name")
    room_id = await rooms.create_room(services(request).pool, who.clinic_id, name.strip())
    return ok({"id": room_id, "name": name.strip()}, 201)


@authorized(*ADMIN)
@handles_bad_input
async def rename_room(request: Request, who: Principal) -> Response:
    """
    summary: Rename a room of the practice.
    tags: [rooms]
    parameters:
      - {name: room_id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [name], properties: {name: {type: string}}}
    responses:
      200: {description: The room}
      400: {description: 'No name, or a name in use'}
      404: {description: No such room in your practice}
    """
    room_id = given_id(request.path_params["room_id"])
    pool = services(request).pool
    if room_id is None or not await rooms.in_clinic(pool, room_id, who.clinic_id):
        return not_found("room")
    name = (await body(request)).get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name: a room needs a name")
    if not await rooms.rename_room(pool, who.clinic_id, room_id, name.strip()):
        return not_found("room")
    return ok({"id": room_id, "name": name.strip()})
