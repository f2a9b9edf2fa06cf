"""What the REST API's endpoints share: their answers (``ok``,
``not_found``, the 400 of a bad body), the JSON body, the id check of paths
and query strings, the audit of what they read.

Responses are never cached (``Cache-Control: private, no-store``).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..auth import PRIVATE, Principal, error_response
from ..record.ids import as_id
from ..services import services
from ..store import audit
from ..store.errors import AccountError
from ..store.passwords import PasswordsBusy

log = logging.getLogger(__name__)


class BadRequest(Exception):
    pass


def ok(data, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=PRIVATE)


def not_found(what: str) -> JSONResponse:
    return error_response(404, "not_found", f"no such {what} in your practice")


async def body(request: Request) -> dict:
    try:
        data = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def given_id(value: str | None) -> str | None:
    """An id named in a path or a query string: 32 hex digits (either case),
    as the store takes it; None when it is not one (the endpoint answers 404
    or 400)."""
    return as_id(value) if value and len(value) == 32 else None


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def record(request: Request, who: Principal, action: str, **fields) -> None:
    """Audit what the caller did (a read, an export…)."""
    await audit.record(services(request).pool, action=action, **who.actor, **fields)


async def server_busy(request: Request, exc: PasswordsBusy) -> Response:
    """503 when too many password hashes wait for a thread already (any
    endpoint that hashes or checks one: login, password change, new users,
    the setup); the application's handler of :class:`PasswordsBusy`."""
    return error_response(503, "server_busy", "too many logins at once: try again in a moment",
                          {"Retry-After": str(exc.retry_after_s)})


async def database_busy(request: Request, exc: Exception) -> Response:
    """503 when no PostgreSQL connection came free in time (the pool's
    acquisition timeout): the application's handler of ``DatabaseBusy``."""
    log.warning("database: %s (%s %s)", exc, request.method, request.url.path)
    return error_response(503, "database_busy", "the database is busy: try again in a moment", {"Retry-After": "2"})


def handles_bad_input(endpoint):
    """400 for a body that is not what the endpoint needs (AccountError, BadRequest)."""
    async def wrapped(request: Request, who: Principal) -> Response:
        try:
            return await endpoint(request, who)
        except (AccountError, BadRequest) as exc:
            return error_response(400, "invalid_request", str(exc))

    wrapped.__doc__, wrapped.__name__ = endpoint.__doc__, endpoint.__name__
    return wrapped
