"""Errors the server answers on purpose: an HTTP status, a short code and a message that says
what to do. Every one becomes ``{"error": code, "detail": message}``; none shows a traceback."""

from __future__ import annotations

from ..errors import ServeError as ServeError


def bad_request(code: str, message: str) -> ServeError:
    """400: the request is malformed (no image part, options that are not JSON)."""
    return ServeError(400, code, message)


def too_large(message: str) -> ServeError:
    """413: the upload or the image is larger than the server's limits."""
    return ServeError(413, "too_large", message)


def unsupported_type(message: str) -> ServeError:
    """415: not multipart/form-data, or an image part whose declared type is not an image."""
    return ServeError(415, "unsupported_media_type", message)


def invalid(code: str, message: str) -> ServeError:
    """422: well-formed but unusable (a corrupt image, an unknown method, a class out of range)."""
    return ServeError(422, code, message)


def busy(message: str, retry_after: int) -> ServeError:
    """503 with Retry-After: the queue is full, or the request waited/ran past the timeout."""
    return ServeError(503, "busy", message, retry_after=retry_after)


def timed_out(message: str, retry_after: int) -> ServeError:
    """503 with Retry-After: the request took longer than the server's timeout."""
    return ServeError(503, "timeout", message, retry_after=retry_after)


def client_gone(message: str) -> ServeError:
    """499 (nginx's "client closed request"): the client disconnected; nobody reads the answer."""
    return ServeError(499, "client_closed_request", message)
