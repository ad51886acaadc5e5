"""What the server writes in response headers, and which ``Host`` it answers.

- :func:`header_text`: any text as an encodable header value (percent-encoding, RFC 3986), so a
  layer or class named in Unicode, or with a line break, can never fail or split a header;
- :class:`SecurityHeaders`: ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy
  on every response (the page's own policy, a looser one for Swagger UI and ReDoc, and
  ``default-src 'none'`` for JSON, PNG and the rest);
- :class:`HostGuard`: on a connection to a loopback address only loopback names are accepted as
  ``Host`` (``localhost``, ``*.localhost``, ``127.0.0.1``, ``[::1]``, plus ``allowed_hosts``),
  so a page elsewhere whose name was re-pointed at 127.0.0.1 (DNS rebinding) gets 400.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import quote

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Printable ASCII but "%" (the escape itself) stays as it is: "layer4[-1]" is sent unchanged.
_KEPT = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")

NOSNIFF = (b"x-content-type-options", b"nosniff")
# JSON, PNG, scripts and styles: nothing may load or frame them as a page.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# The page loads only its own files; images come from data: and blob: URLs.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc (local files from fastapi-offline) start from an inline script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def header_text(value: object) -> str:
    """``value`` as a header value of printable ASCII: anything else percent-encoded as UTF-8.

    ``urllib.parse.unquote`` gives the text back: ``"主干.layer4"`` is sent as
    ``"%E4%B8%BB%E5%B9%B2.layer4"``, ``"layer4[-1]"`` unchanged.
    """
    return quote(str(value), safe=_KEPT)


class SecurityHeaders:
    """ASGI middleware: ``nosniff`` and a CSP on every response that does not set its own.

    ``page_paths``: prefixes served :data:`PAGE_POLICY`; ``docs_paths``: :data:`DOCS_POLICY`;
    everything else :data:`API_POLICY`.
    """

    def __init__(self, app: ASGIApp, page_paths: Iterable[str], docs_paths: Iterable[str]) -> None:
        self.app = app
        self.page_paths = tuple(page_paths)
        self.docs_paths = tuple(docs_paths)

    def policy(self, path: str) -> str:
        if path == "/" or path.startswith(self.page_paths):
            return PAGE_POLICY
        if path.startswith(self.docs_paths):
            return DOCS_POLICY
        return API_POLICY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (b"content-security-policy", self.policy(scope.get("path", "")).encode())

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [pair for pair in (NOSNIFF, policy) if pair[0] not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)


def host_name(header: str) -> str | None:
    """The host of a ``Host`` header, lower case, without port or final dot (None: malformed)."""
    text = header.strip().lower()
    if text.startswith("["):  # [::1]:8000
        end = text.find("]")
        if end < 0:
            return None
        name, port = text[1:end], text[end + 1 :]
        if port and not port.startswith(":"):
            return None
        port = port[1:]
    else:
        name, _, port = text.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    name = name.rstrip(".")
    return name or None


def is_loopback_name(name: str) -> bool:
    """``localhost``, a ``*.localhost`` name (RFC 6761: always loopback) or a loopback IP."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_address(address: str) -> bool:
    """Whether an IP address (IPv6 zone ids allowed) is a loopback address."""
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


class HostGuard:
    """ASGI middleware: refuse (400 JSON) a ``Host`` that is not a loopback name, on connections
    to a loopback address (the server's address in the ASGI scope), unless in ``allowed``.

    A request without ``Host`` (HTTP/1.0) passes: a browser always sends one.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = {name for host in allowed if (name := host_name(host))}

    def accepts(self, scope: Scope) -> bool:
        server = scope.get("server")
        if not server or not is_loopback_address(str(server[0])):
            return True  # bound to a public address: the operator chose to open it
        values = [value for name, value in scope.get("headers", []) if name == b"host"]
        if not values:
            return True
        if len(values) > 1:
            return False
        name = host_name(values[0].decode("latin-1"))
        return name is not None and (is_loopback_name(name) or name in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.accepts(scope):
            await self.app(scope, receive, send)
            return
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        response = JSONResponse(
            {
                "error": "invalid_host",
                "detail": f"this server answers on a loopback address, for loopback names only, "
                f"not Host {host!r} (a guard against DNS rebinding); open it as "
                "http://127.0.0.1:PORT/ or http://localhost:PORT/, or start it with "
                "--allow-host NAME (create_app(..., allowed_hosts=[NAME])).",
            },
            status_code=400,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
