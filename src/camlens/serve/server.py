"""uvicorn for the app, with the connection bounds uvicorn does not keep by itself.

from camlens.models import load_model
from camlens.serve import create_app, server_config
import uvicorn
server = uvicorn.Server(server_config(create_app(load_model("demo")), port=8000))
# server.run()  # blocks; camlens.serve.run(app, host, port) does both

uvicorn (h11) closes an idle keep-alive connection after ``timeout_keep_alive``, but a connection
that has sent nothing yet, or sends its header a byte at a time, is never timed out: the
keep-alive timer is armed only after a response, and every byte received cancels it
(Kludex/uvicorn#1192). Its ``limit_concurrency`` refusal is a plain-text 503 without
``Retry-After``, and a malformed request gets a plain-text 400. :class:`GuardedH11Protocol`
(h11, uvicorn's pure-Python protocol) adds, from the app's :class:`~camlens.serve.Limits`:

- a header deadline: a connection must send a complete request header within
  ``header_timeout`` seconds of opening, or of the end of the previous answer, else it is
  closed (an absolute deadline: trickling bytes does not extend it);
- the connection limit ``max_connections`` (open connections and running requests), refused
  with 503 JSON ``{"error": "busy", ...}`` and ``Retry-After``;
- a JSON 400 for a malformed request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .headers import API_POLICY, NOSNIFF
from .limits import Limits

log = logging.getLogger("camlens.serve")

KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive)


def json_refusal(
    code: str, message: str, retry_after: int | None = None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of a ``{"error": code, "detail": message}`` answer that closes."""
    body = json.dumps({"error": code, "detail": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        NOSNIFF,
        (b"content-security-policy", API_POLICY.encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    return headers, body


class ServerConfig(uvicorn.Config):
    """``uvicorn.Config`` serving with :class:`GuardedH11Protocol` under ``limits``.

    ``limit_concurrency`` is not used (its refusal is plain text): the protocol applies
    ``limits.max_connections`` itself. Other keyword arguments are uvicorn's.
    """

    def __init__(self, app: Any, limits: Limits, **kwargs: Any) -> None:
        kwargs.setdefault("timeout_keep_alive", KEEP_ALIVE)
        super().__init__(app, http=GuardedH11Protocol, ws="none", limit_concurrency=None, **kwargs)
        self.limits = limits


def server_config(app: Any, limits: Limits | None = None, **kwargs: Any) -> ServerConfig:
    """The uvicorn configuration for ``app`` (from :func:`~camlens.serve.create_app`).

    ``limits``: default the app's own (``app.state.limits``). ``kwargs`` go to
    ``uvicorn.Config`` (``host``, ``port``, ``log_level``, ...).
    """
    if limits is None:
        limits = getattr(getattr(app, "state", None), "limits", None) or Limits()
    return ServerConfig(app, limits, **kwargs)


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> None:
    """Serve ``app`` on ``host:port`` until Ctrl-C: ``uvicorn.Server(server_config(...)).run()``."""
    uvicorn.Server(server_config(app, host=host, port=port, **kwargs)).run()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a JSON connection limit and a JSON 400."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        limits = getattr(config, "limits", None) or Limits()
        self.header_timeout = float(limits.header_timeout)
        self.connection_limit = limits.max_connections
        self._header_timer: asyncio.TimerHandle | None = None
        self.app = self._limited(self.app)

    # --- the header deadline --------------------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.debug(
                "closing a connection without a request header after %gs", self.header_timeout
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a complete request header arrived: the app has it now
            self._disarm()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()  # may start a pipelined request (a new cycle)
        if self.cycle is cycle and not self.transport.is_closing():
            self._arm()  # waiting for the next request's header

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- refusals as JSON -----------------------------------------------------------------------
    def retry_after(self) -> int:
        """Seconds until idle connections have been closed: the header or keep-alive timeout."""
        return max(1, math.ceil(max(self.header_timeout, float(self.timeout_keep_alive))))

    def _limited(self, app: Any) -> Any:
        async def limited(scope: Any, receive: Any, send: Any) -> None:
            # this connection and this request's task are counted already
            open_now = max(len(self.connections), len(self.tasks))
            if scope["type"] != "http" or open_now <= self.connection_limit:
                await app(scope, receive, send)
                return
            log.warning("refused a request: %d open connections (limit %d)", open_now,
                        self.connection_limit)  # fmt: skip
            headers, body = json_refusal(
                "busy",
                f"the server has {open_now} open connections, more than its limit of "
                f"{self.connection_limit}; retry after the Retry-After seconds (idle "
                f"connections are closed after {self.header_timeout:g} s).",
                self.retry_after(),
            )
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return limited

    def send_400_response(self, msg: str) -> None:
        headers, body = json_refusal(
            "bad_request", f"not a valid HTTP/1.1 request ({msg.rstrip('.')}); see /docs."
        )
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()
