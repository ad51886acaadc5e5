"""The server's safety limits: upload size, pixels, time, concurrency, queue length and open
connections."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ServeConfigError as ServeConfigError

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one server accepts and how much work it takes on at once.

    max_upload_bytes: largest request body (the multipart upload); larger ones get 413.
    max_pixels:       largest image, width x height, checked before decoding; larger ones get 413.
    timeout:          seconds a request may wait in the queue plus run; then 503 with Retry-After.
    max_concurrency:  explanations computed at the same time (one worker thread and one model
                      replica each).
    queue:            requests that may wait for a worker; one more gets 503 with Retry-After.
    max_top_k:        largest ``top_k`` a request may ask for.
    max_map_side:     largest side of the map array returned in JSON.
    header_timeout:   seconds a connection has to send a complete request header, from its
                      start or from the end of the previous answer (not reset by each byte);
                      then it is closed. Idle and half-sent connections cannot pile up.
    extra_connections: open connections allowed beyond ``max_concurrency + queue`` (page loads,
                      ``/healthz``, clients waiting for an answer); past ``max_connections`` a
                      request gets 503 JSON with ``Retry-After``.

    At most ``max_concurrency + queue`` requests are admitted, so at most that many uploads are
    held in memory (each at most ``max_upload_bytes``) and ``max_concurrency`` decoded images.
    The connection bounds are applied by the uvicorn server of :func:`camlens.serve.server_config`.

    Example:
        >>> limits = Limits(max_concurrency=2, queue=4)
        >>> limits.capacity, limits.max_connections  # 2 + 4, then + 100 extra connections
        (6, 106)
    """

    max_upload_bytes: int = 10 * MIB
    max_pixels: int = 40_000_000
    timeout: float = 60.0
    max_concurrency: int = 1
    queue: int = 16
    max_top_k: int = 20
    max_map_side: int = 64
    header_timeout: float = 10.0
    extra_connections: int = 100

    def __post_init__(self) -> None:
        positive = {
            "max_upload_bytes": self.max_upload_bytes,
            "max_pixels": self.max_pixels,
            "max_concurrency": self.max_concurrency,
            "max_top_k": self.max_top_k,
            "max_map_side": self.max_map_side,
        }
        for name, value in positive.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ServeConfigError(f"{name} must be a positive integer, got {value!r}.")
        for name, value in {
            "queue": self.queue,
            "extra_connections": self.extra_connections,
        }.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ServeConfigError(f"{name} must be an integer >= 0, got {value!r}.")
        for name, limit in {"timeout": self.timeout, "header_timeout": self.header_timeout}.items():
            seconds = float(limit)
            if math.isnan(seconds) or seconds <= 0:
                raise ServeConfigError(
                    f"{name} must be a positive number of seconds, got {seconds}."
                )

    @property
    def capacity(self) -> int:
        """Requests admitted at once: running plus queued."""
        return self.max_concurrency + self.queue

    @property
    def max_connections(self) -> int:
        """Open connections served at once: the admitted requests plus ``extra_connections``."""
        return self.capacity + self.extra_connections
