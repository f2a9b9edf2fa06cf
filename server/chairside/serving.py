"""uvicorn's server, with a shutdown that lets open dictations finish.

On SIGTERM (or Ctrl-C) uvicorn stops listening, then closes every
connection.  :class:`GracefulServer` first lets each open session finish
what was said — the utterance being spoken ends, its finals are journaled
and sent, then ``closed`` with reason ``shutdown`` — within
``CHAIRSIDE_SHUTDOWN_GRACE_S``; the WebSocket closes with 1012 and the
client resumes the session on the restarted server (or another replica).
"""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Starlette, grace_s: float) -> None:
        super().__init__(config)
        self.app, self.grace_s = app, grace_s
        app.state.server = self  # the database watchdog stops it when the embedded PostgreSQL is gone

    async def shutdown(self, sockets=None) -> None:
        for listening in self.servers:  # no new connection meanwhile
            listening.close()
        svc = getattr(self.app.state, "services", None)
        if svc is not None:
            await svc.sessions.finish_all(self.grace_s)
        await super().shutdown(sockets)
