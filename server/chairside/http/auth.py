"""Logging in: a token for a password (failed ones throttled:
:mod:`chairside.throttle`), a fresh token for a valid one, logging out, one's
own password, who one is."""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import Response

from ..auth import ANYONE, PRIVATE, AuthError, Principal, authorized, error_response, refusal
from ..services import services
from ..store import accounts
from ..throttle import TooManyAttempts, retry_after
from .common import BadRequest, body, handles_bad_input, ok

log = logging.getLogger(__name__)


async def login(request: Request) -> Response:
    """
    summary: Log in; returns a short-lived bearer token.
    tags: [auth]
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Login'}
    responses:
      200: {description: 'The token: send it as "Authorization: Bearer <token>"', content: {application/json: {schema: {$ref: '#/components/schemas/Token'}}}}
      400: {description: Not a JSON object with email and password}
      401: {description: Wrong e-mail or password (the same answer for both)}
      413: {description: A body over 16 KiB (not read)}
      429: {description: 'Too many failed logins for this account or from this address: wait Retry-After seconds (the password is not checked meanwhile)'}
      503: {description: 'Too many logins being checked at once: retry after Retry-After seconds'}
    """
    try:
        data = await body(request)
    except BadRequest as exc:
        return error_response(400, "invalid_request", str(exc))
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        return error_response(400, "invalid_request", "send {\"email\": …, \"password\": …}")
    svc = services(request)
    address = request.client.host if request.client else "unknown"
    keys = svc.logins.keys(email, address)
    try:
        async with svc.logins.turn(keys):
            user = await accounts.authenticate(svc.pool, email, password)  # PasswordsBusy: 503, nothing counted
            if user is None:
                failures = await svc.logins.failed(keys)
                log.info("login refused: account %s from %s (%d in a row)", keys.account_tag, address, failures)
                return error_response(401, "invalid_credentials", "wrong e-mail or password")
            await svc.logins.succeeded(keys)
    except TooManyAttempts as exc:
        log.warning("login throttled: account %s from %s, retry in %s s", keys.account_tag, address, retry_after(exc.wait_s))
        return too_many_attempts(exc)
    return ok(_token(request, user.id, user.clinic_id, user.role, user.name, user.must_change_password))


def too_many_attempts(exc: TooManyAttempts) -> Response:
    return error_response(429, "too_many_attempts", exc.message, {"Retry-After": retry_after(exc.wait_s)})


def _token(request: Request, user_id: str, clinic_id: str, role: str, name: str, must_change_password: bool,
           auth_time: int | None = None) -> dict:
    token, expires_in = services(request).tokens.issue(user_id, clinic_id, role, must_change_password, auth_time)
    return {"token": token, "token_type": "Bearer", "expires_in": expires_in,
            "user": {"id": user_id, "clinic_id": clinic_id, "role": role, "name": name, "must_change_password": must_change_password}}


@authorized(*ANYONE, during_password_change=True)
async def refresh(request: Request, who: Principal) -> Response:
    """
    summary: A fresh token for a valid one, while the user is still active and until CHAIRSIDE_SESSION_MAX_S (12 h) after the login.
    tags: [auth]
    responses:
      200: {description: 'A new token (it keeps the login time: expires_in is shorter near the session''s end)', content: {application/json: {schema: {$ref: '#/components/schemas/Token'}}}}
      401: {description: 'No token, an invalid, expired or revoked one (token_revoked: a logout or a password change since), a disabled user, or a session older than CHAIRSIDE_SESSION_MAX_S (session_expired): log in again'}
    """
    svc = services(request)
    if time.time() >= who.auth_time + svc.tokens.session_max_s:
        return refusal(AuthError(401, "session_expired", "the session has reached its longest duration: log in again"))
    row = await accounts.active_user(svc.pool, who.user_id, who.clinic_id)
    if row is None:
        return error_response(401, "invalid_token", "this user can no longer log in")
    return ok(_token(request, who.user_id, who.clinic_id, row["role"], row["name"], row["must_change_password"], who.auth_time))


@authorized(*ANYONE, during_password_change=True)
async def logout(request: Request, who: Principal) -> Response:
    """
    summary: Log out; the REST API refuses every token of the user issued until now (on every device), refresh included.
    tags: [auth]
    responses:
      204: {description: Logged out}
    """
    await accounts.revoke_tokens(services(request).pool, who.user_id)
    log.info("user %s logged out", who.user_id[:8])
    return Response(status_code=204, headers=PRIVATE)


@authorized(*ANYONE, during_password_change=True)
@handles_bad_input
async def change_password(request: Request, who: Principal) -> Response:
    """
    summary: Change one's own password (a temporary one first of all; then log in again for a token without the flag).
    tags: [auth]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, required: [current_password, new_password], properties: {current_password: {type: string}, new_password: {type: string, minLength: 12}}}
    responses:
      204: {description: 'Changed; every token issued before is revoked (this one too): log in again with the new password'}
      400: {description: 'A new password under 12 characters, or the same as the current one'}
      403: {description: The current password is wrong}
      429: {description: 'Too many wrong passwords (they count as failed logins of the account): wait Retry-After seconds'}
    """
    data = await body(request)
    current, new = data.get("current_password"), data.get("new_password")
    if not isinstance(current, str) or not isinstance(new, str):
        raise BadRequest("send current_password and new_password")
    if current == new:
        raise BadRequest("the new password is the current one")
    svc = services(request)
    me = await accounts.profile(svc.pool, who.user_id)
    address = request.client.host if request.client else "unknown"
    keys = svc.logins.keys(me["email"] if me else who.user_id, address)
    try:
        async with svc.logins.turn(keys):  # a stolen token is no way to guess the password faster than a login
            if not await accounts.change_password(svc.pool, who.user_id, current, new):
                await svc.logins.failed(keys)
                log.info("password change refused: account %s from %s", keys.account_tag, address)
                return error_response(403, "wrong_password", "the current password is wrong")
            await svc.logins.succeeded(keys)
    except TooManyAttempts as exc:
        return too_many_attempts(exc)
    return Response(status_code=204, headers=PRIVATE)


@authorized(*ANYONE, during_password_change=True)
async def me(request: Request, who: Principal) -> Response:
    """
    summary: The logged-in user and their practice.
    tags: [auth]
    responses:
      200: {description: 'The user (id, email, name, role, rpps, phone, title, must_change_password, clinic)'}
    """
    return ok(_me(await accounts.profile(services(request).pool, who.user_id)))


@authorized(*ANYONE)
@handles_bad_input
async def update_me(request: Request, who: Principal) -> Response:
    """
    summary: Change one's own profile (name, phone; a dentist's title and RPPS number, printed on their documents).
    tags: [auth]
    requestBody:
      required: true
      content:
        application/json:
          schema: {type: object, properties: {name: {type: string}, phone: {type: string}, title: {type: string}, rpps: {type: string}}}
    responses:
      200: {description: The user as GET /v1/me gives it}
      400: {description: 'A field that is not one of these, or a bad value (named: "rpps: …")'}
    """
    data = await body(request)
    unknown = set(data) - {"name", "phone", "title", "rpps"}
    if unknown:
        raise BadRequest(f"{sorted(unknown)[0]}: not a field of one's profile (an admin changes roles)")
    await accounts.update_user(services(request).pool, who.clinic_id, who.user_id, data)
    return ok(_me(await accounts.profile(services(request).pool, who.user_id)))


def _me(row) -> dict:
    return {"id": row["id"], "email": row["email"], "name": row["name"], "role": row["role"], "rpps": row["rpps"],
            "phone": row["phone"], "title": row["title"], "must_change_password": row["must_change_password"],
            "clinic": {"id": row["clinic_id"], "name": row["clinic"]}}
