"""Who is calling: signed short-lived access tokens, and what each role may do.

``POST /v1/auth/login`` checks a user's password (argon2id) and returns a
JWT (HS256) that lasts ``CHAIRSIDE_TOKEN_TTL_S`` seconds; ``POST
/v1/auth/refresh`` trades a valid token for a fresh one while the user is
still active, up to ``CHAIRSIDE_SESSION_MAX_S`` after the login (the
token's ``auth_time``, which refreshes keep).  The signing key is generated
once and kept in PostgreSQL, so every replica accepts every replica's tokens.

Tokens are stateless, so revoking them is a time: a logout, a password
change or disabling the user sets the user's ``tokens_valid_after``, and
:func:`authorized` refuses (401 ``token_revoked``) a token issued before it
(its ``iat_ms``), or any token of a disabled user — one indexed read per
request (0.1–0.4 ms against the pool, measured: docs/benchmarks.md
"Issue 15").  Open WebSockets and WebRTC peers are watched by
:mod:`chairside.transport.guard` (expiry, a disabled user).  Tokens travel in the
``Authorization: Bearer`` header of HTTP calls and WebSocket handshakes, or in
the first message of a WebSocket (browsers cannot set headers there): never
in a URL, which proxies and access logs keep.

Roles: a *dentist* dictates into the rooms of their clinic and manages its
patients; an *assistant* watches the rooms and reads patients, sessions and
documents of their clinic; an *admin* manages users and rooms, and reads no
patient data.  A resource of another clinic answers 404 (its existence is
not confirmed), a role that may not do something 403, a missing, invalid or
expired token 401.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

import asyncpg
import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import metrics
from .services import services
from .store import accounts, keys

ALGORITHM = "HS256"
ISSUER = "chairside"
PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}

# Who may do what (checked by `authorized`; the refusal matrix test walks every route).
DICTATE = ("dentist",)
CARE_TEAM = ("dentist", "assistant")
ADMIN = ("admin",)
ANYONE = ("dentist", "assistant", "admin")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from a verified token."""

    user_id: str
    clinic_id: str
    role: str
    must_change_password: bool = False  # logged in with a temporary password
    issued_at: int = 0  # the token's iat and exp (seconds since the epoch)
    expires_at: int = 0
    issued_ms: int = 0  # when the token was issued (Unix milliseconds): refused if the user's tokens were revoked since
    auth_time: int = 0  # when the user gave their password (Unix seconds): refreshes end CHAIRSIDE_SESSION_MAX_S after it

    @property
    def actor(self) -> dict:
        """Who did it, as the audit trail records it (``audit.record(..., **who.actor)``)."""
        return {"clinic_id": self.clinic_id, "actor_id": self.user_id, "actor_role": self.role}


class AuthError(Exception):
    """A refused request: ``status`` 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    metrics.error(code)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers={**PRIVATE, **(headers or {})})


def refusal(exc: AuthError) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="chairside"'} if exc.status == 401 else None
    return error_response(exc.status, exc.code, exc.message, headers)


class Tokens:
    def __init__(self, secret: bytes, ttl_s: float, session_max_s: float = 12 * 3600) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        self.session_max_s = session_max_s

    @classmethod
    async def load(cls, pool: asyncpg.Pool, ttl_s: float, session_max_s: float = 12 * 3600) -> "Tokens":
        """The signing key from the store (created by the first replica that needs it)."""
        return cls(await keys.access_token_key(pool), ttl_s, session_max_s)

    def issue(self, user_id: str, clinic_id: str, role: str, must_change_password: bool = False,
              auth_time: int | None = None) -> tuple[str, int]:
        """A token, and how many seconds it lasts: ``CHAIRSIDE_TOKEN_TTL_S``,
        or less when the session's end (``auth_time``, the login's time, plus
        ``CHAIRSIDE_SESSION_MAX_S``) comes first."""
        clock = time.time()
        now = int(clock)
        auth_time = now if auth_time is None else auth_time
        exp = min(now + int(self.ttl_s), auth_time + int(self.session_max_s))
        claims = {"iss": ISSUER, "sub": user_id, "clinic": clinic_id, "role": role, "iat": now, "exp": exp,
                  "iat_ms": int(clock * 1000), "auth_time": auth_time, "jti": uuid.uuid4().hex}
        if must_change_password:
            claims["pwc"] = True  # good only for changing the password (and GET /v1/me, the refresh)
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), exp - now

    def setup_code(self) -> str:
        """The code that lets the first practice be set up from another machine
        than the server's: derived from the signing key, so every replica
        prints the same; of use only while the store has no practice."""
        digest = hmac.new(self._secret, b"chairside first start", hashlib.sha256).digest()
        code = base64.b32encode(digest).decode("ascii")[:8]
        return f"{code[:4]}-{code[4:]}"

    def pseudonym(self, kind: str, value: str) -> str:
        """A keyed hash (HMAC-SHA256 with the signing key, 16 hex digits) of
        personal data that logs and the login throttle name without saying
        it (an e-mail, an address): the same on every replica, not
        reversible by trying likely e-mails without the key."""
        return hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]

    def verify(self, token: str | None, *, during_password_change: bool = False) -> Principal:
        """The caller of a valid token.  A token of an account that must change
        its temporary password is refused (403 ``password_change_required``)
        unless ``during_password_change``."""
        if not token:
            raise AuthError(401, "unauthenticated", "log in first: send 'Authorization: Bearer <token>' (POST /v1/auth/login)")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "token_expired", "the token has expired: log in again or refresh it before it ends") from None
        except jwt.InvalidTokenError:
            raise AuthError(401, "invalid_token", "the token is not valid") from None
        if claims.get("role") not in ANYONE or not isinstance(claims.get("clinic"), str):
            raise AuthError(401, "invalid_token", "the token is not valid")
        iat = claims["iat"]
        issued_ms, auth_time = claims.get("iat_ms"), claims.get("auth_time")
        who = Principal(claims["sub"], claims["clinic"], claims["role"], claims.get("pwc") is True, iat, claims["exp"],
                        issued_ms=issued_ms if isinstance(issued_ms, int) else int(iat) * 1000,  # a token of before issue 15: its second
                        auth_time=auth_time if isinstance(auth_time, int) else int(iat))
        if who.must_change_password and not during_password_change:
            raise AuthError(403, "password_change_required",
                            "change the temporary password first (POST /v1/auth/password), then log in again")
        return who


def bearer(headers) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal_of(request: Request, roles: tuple[str, ...], during_password_change: bool = False) -> Principal:
    who = services(request).tokens.verify(bearer(request.headers), during_password_change=during_password_change)
    if who.role not in roles:
        raise AuthError(403, "forbidden", f"{'an' if who.role[0] in 'aeiou' else 'a'} {who.role} may not do this")
    return who


async def still_valid(pool: asyncpg.Pool, who: Principal) -> None:
    """AuthError 401 unless the caller's user is still active and their
    tokens were not revoked after this one was issued (one indexed read)."""
    state = await accounts.token_state(pool, who.user_id, who.clinic_id)
    if state is None or not state[0]:
        raise AuthError(401, "invalid_token", "this user can no longer log in")
    valid_after_ms = state[1]
    if valid_after_ms is not None and who.issued_ms < valid_after_ms:
        raise AuthError(401, "token_revoked", "this token was revoked (a logout or a password change): log in again")


Endpoint = Callable[[Request, Principal], Awaitable[Response]]


def authorized(*roles: str, during_password_change: bool = False) -> Callable[[Endpoint], Callable[[Request], Awaitable[Response]]]:
    """An endpoint for these roles only: it receives the caller as its second
    argument.  ``during_password_change``: also for an account that has yet
    to change its temporary password (the change itself, who one is)."""

    def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def checked(request: Request) -> Response:
            try:
                who = principal_of(request, roles, during_password_change)
                await still_valid(services(request).pool, who)
            except AuthError as exc:
                return refusal(exc)
            return await endpoint(request, who)

        checked.roles = roles  # type: ignore[attr-defined]  # read by the OpenAPI schema and the refusal-matrix test
        return checked

    return wrap
