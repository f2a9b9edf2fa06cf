"""A live connection's caller, kept authenticated for as long as it streams.

A token is checked when a dictation starts or a screen says hello; the
connection then lives for hours.  :class:`TokenGuard` closes it when its
token expires — unless the client sent a fresh one in the meantime
(``{"type": "token", "token": …}``, from ``POST /v1/auth/refresh``) — and
within ``CHAIRSIDE_TOKEN_CHECK_S`` of the user being disabled or their
tokens revoked (a logout, a new password), on whichever replica the
connection is (the check reads PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..auth import AuthError, Principal, Tokens, still_valid

log = logging.getLogger(__name__)


class TokenGuard:
    def __init__(self, tokens: Tokens, pool, who: Principal, check_every_s: float) -> None:
        self.tokens, self.pool, self.who, self.check_every_s = tokens, pool, who, check_every_s

    def renew(self, token: str) -> None:
        """Take a fresh token of the same user (AuthError if it is not one)."""
        fresh = self.tokens.verify(token)
        if (fresh.user_id, fresh.clinic_id, fresh.role) != (self.who.user_id, self.who.clinic_id, self.who.role):
            raise AuthError(403, "forbidden", "a connection's token can only be renewed by its own user's")
        if fresh.expires_at > self.who.expires_at:
            self.who = fresh

    async def until_refused(self) -> AuthError:
        """Wait until the caller may no longer be served: why."""
        while True:
            left = self.who.expires_at - time.time()
            if left <= 0:
                return AuthError(401, "token_expired", "the token expired: send a fresh one ({\"type\": \"token\"}) before it ends")
            await asyncio.sleep(min(self.check_every_s, left))
            if time.time() < self.who.expires_at and (refused := await self._refusal()) is not None:
                return refused

    async def _refusal(self) -> AuthError | None:
        """Why the user may no longer be served (disabled, logged out, a new
        password), or None."""
        try:
            await still_valid(self.pool, self.who)
        except AuthError as exc:
            return exc
        except Exception:  # PostgreSQL unreachable for a moment: a dictation is not cut for it
            log.warning("token check: the store did not answer; checked again in %g s", self.check_every_s)
        return None
