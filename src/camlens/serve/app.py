"""The FastAPI app: ``create_app(loaded, limits=Limits())``.

Endpoints: ``POST /v1/explain`` (multipart ``image`` + JSON ``options``; JSON or ``image/png`` by
``Accept``), ``GET /v1/methods``, ``GET /v1/layers``, ``GET /healthz``, the page at ``/``, and the
OpenAPI description at ``/openapi.json`` with Swagger UI at ``/docs`` and ReDoc at ``/redoc``
served from local files (the ``fastapi-offline`` package; no CDN).

Every refusal is JSON ``{"error": code, "detail": message}`` with a 4xx/503 status; an unexpected
failure is a 500 with the same shape and no traceback (the traceback goes to the server's log).
Every response has ``nosniff`` and a Content-Security-Policy, and on a loopback address a
``Host`` that is not a loopback name is refused (:mod:`camlens.serve.headers`). Serve it with
:func:`camlens.serve.server_config` (uvicorn with a header deadline and a JSON connection limit).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import CamlensError, http_status
from ..images import load_image
from ..methods import METHODS
from .errors import (
    ServeError,
    bad_request,
    client_gone,
    invalid,
    too_large,
    unsupported_type,
)
from .explainer import DEFAULT_METHOD, DESCRIPTIONS, Explainer
from .gate import WorkerPool, install_cancel_hook
from .headers import PAGE_POLICY, HostGuard, SecurityHeaders
from .limits import Limits
from .options import (
    ErrorResponse,
    ExplainOptions,
    ExplainResponse,
    Health,
    LayersResponse,
    MethodsResponse,
    parse_options,
)

log = logging.getLogger("camlens.serve")

STATIC = Path(__file__).parent / "static"
IMAGE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "application/octet-stream",  # what clients send when they do not know the type
)
ERRORS = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "malformed request (no image part, options not JSON), or a Host that is not "
        "this server's name",
        408: "the upload took longer than --timeout",
        413: "upload larger than --max-upload-mb",
        415: "not multipart/form-data, or the image part is not declared as an image",
        422: "a corrupt or too large image, an unknown method or layer, a class out of range",
        503: "busy (queue or connections full) or timed out: retry after the Retry-After seconds",
    }.items()
}


def _body_too_large(limit: int) -> ServeError:
    return too_large(
        f"the upload is larger than the server's limit of {limit / (1 << 20):.2f} MiB "
        "(--max-upload-mb); send a smaller image."
    )


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413.

    A ``Content-Length`` over the limit is refused before anything is read; a body without one
    (chunked) is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            error = _body_too_large(self.limit)
            response = _error_response(error)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _body_too_large(self.limit)
            return message

        await self.app(scope, counted, send)


def _error_response(error: ServeError) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return JSONResponse(
        {"error": error.code, "detail": error.message}, status_code=error.status, headers=headers
    )


def internal_error(exc: BaseException) -> ServeError:
    """500 naming only the exception's type: the traceback goes to the server's log."""
    return ServeError(
        500,
        "internal_error",
        f"the server failed on this request ({type(exc).__name__}); "
        "the server's log has the details.",
    )


def as_serve_error(exc: CamlensError) -> ServeError:
    """The HTTP answer for a camlens error raised while explaining: the status of its category
    (:data:`camlens.errors.CATEGORIES`), its class's ``code``, and its message."""
    if isinstance(exc, ServeError):
        return exc
    message = " ".join(str(exc).split())
    if exc.code == "invalid_layer":
        message = f"{message} GET /v1/layers lists the candidates."
    retry_after = getattr(exc, "retry_after", None)
    return ServeError(http_status(exc), exc.code, message, retry_after=retry_after)


def prefers_png(accept: str | None) -> bool:
    """True when the ``Accept`` header ranks ``image/png`` above ``application/json``."""
    if not accept:
        return False
    best: dict[str, float] = {}
    for order, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        kind = parts[0].lower()
        quality = 1.0
        for param in parts[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        key = (
            "png"
            if kind in ("image/png", "image/*")
            else "json"
            if kind in ("application/json", "application/*", "*/*")
            else None
        )
        if key and quality > 0:
            # equal q: the explicit, earlier type wins (*/* counts less than a named type)
            score = quality - order * 1e-6 - (1e-3 if "*" in kind else 0.0)
            best[key] = max(best.get(key, -1.0), score)
    return best.get("png", -1.0) > best.get("json", -1.0)


def _fastapi(**kwargs: Any) -> FastAPI:
    """FastAPI with Swagger UI and ReDoc served from local files when fastapi-offline is there."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        app = FastAPI(docs_url=None, redoc_url=None, **kwargs)

        @app.get("/docs", include_in_schema=False)
        async def docs_unavailable() -> HTMLResponse:
            return HTMLResponse(
                "<!doctype html><title>camlens API</title><p>The interactive docs need the "
                "<code>fastapi-offline</code> package (pip install 'camlens[serve]'), which "
                'serves Swagger UI without a CDN. The API description is at <a href="'
                '/openapi.json">/openapi.json</a>.</p>'
            )

        return app
    return FastAPIOffline(**kwargs)


async def client_gone_signal(receive: Receive) -> None:
    """Return once the client has disconnected (call after the request body has been read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def create_app(
    loaded: Any, limits: Limits | None = None, *, allowed_hosts: Iterable[str] = ()
) -> FastAPI:
    """The web app and HTTP API for one model.

    Args:
        loaded: a :class:`camlens.models.LoadedModel` (or an object with its fields: ``model``,
            ``name``, ``categories``, ``preprocess``, ``input_size``, ``device``,
            ``target_layer``). With ``limits.max_concurrency = n > 1`` the model is copied
            ``n - 1`` times, one replica per worker thread.
        limits: the safety limits (:class:`Limits`).
        allowed_hosts: ``Host`` names accepted on a loopback address besides ``localhost`` and
            loopback IPs (e.g. a name in ``/etc/hosts``); see :class:`HostGuard`.

    Construction probes the model once (layers, number of classes); no thread is started
    until the first request.
    """
    limits = limits or Limits()
    explainer = Explainer(loaded, limits)
    replicas = [explainer.model]
    replicas += [copy.deepcopy(explainer.model) for _ in range(limits.max_concurrency - 1)]
    for replica in replicas:
        install_cancel_hook(replica)
    pool: WorkerPool = WorkerPool(replicas, limits.queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.shutdown()

    app = _fastapi(
        title="camlens",
        version=_version(),
        summary="Class activation maps (Grad-CAM and family) of one model, over HTTP.",
        lifespan=lifespan,
    )
    app.state.explainer = explainer
    app.state.pool = pool
    app.state.limits = limits
    app.add_middleware(BodyLimit, limit=limits.max_upload_bytes)
    # Swagger UI, ReDoc and their local files (fastapi-offline mounts them at /static-offline-docs)
    docs_paths = ["/docs", "/redoc", "/static-offline-docs"]
    stack = app.build_middleware_stack

    def guarded_stack() -> ASGIApp:  # outside Starlette's error middleware: covers its 500s too
        return SecurityHeaders(
            HostGuard(stack(), allowed_hosts), page_paths=["/static/"], docs_paths=docs_paths
        )

    app.build_middleware_stack = guarded_stack  # type: ignore[method-assign]

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(CamlensError)
    async def camlens_error(request: Request, exc: CamlensError) -> JSONResponse:
        return _error_response(as_serve_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            {"error": codes.get(exc.status_code, "http_error"), "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"error": "invalid_request", "detail": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # last resort (Starlette re-raises after it, so uvicorn also logs the traceback)
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_response(internal_error(exc))

    @app.post(
        "/v1/explain",
        summary="Explain one image",
        response_model=ExplainResponse,
        responses={
            200: {
                "content": {"image/png": {}},
                "description": "JSON, or the overlay PNG when Accept prefers image/png",
            },
            **ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["image"],
                            "properties": {
                                "image": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "the picture (PNG, JPEG, WebP, ...)",
                                },
                                "options": {
                                    "type": "string",
                                    "description": "JSON object of ExplainOptions, e.g. "
                                    '{"method": "gradcam", "target": 281, "alpha": 0.5}',
                                },
                            },
                        }
                    }
                },
            }
        },
    )
    async def explain(request: Request) -> Response:
        """Upload an image (multipart field ``image``) and JSON ``options`` (see
        ``ExplainOptions``). The answer is JSON with the prediction, the top-k classes, the map
        as numbers and as PNG data URLs; or the overlay PNG when ``Accept: image/png``."""
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise unsupported_type(
                "send the image as multipart/form-data with a file field 'image' "
                "(and an optional JSON field 'options'), e.g. "
                'curl -F image=@cat.jpg -F \'options={"method":"gradcam"}\' URL/v1/explain.'
            )
        deadline = time.monotonic() + limits.timeout
        with pool.admit() as ticket:  # 503 now if the queue is full, before reading the upload
            try:  # a slow upload must not hold its place in the queue for ever
                form = await asyncio.wait_for(
                    request.form(max_files=1, max_fields=8),
                    max(deadline - time.monotonic(), 0.0),
                )
            except ClientDisconnect:
                raise client_gone("the client left during its upload.") from None
            except asyncio.TimeoutError:  # TimeoutError from 3.11, not in 3.10
                raise ServeError(
                    408,
                    "upload_timeout",
                    f"the upload took longer than the server's timeout ({limits.timeout:g} s).",
                ) from None
            try:
                upload = form.get("image")
                if not isinstance(upload, UploadFile):
                    raise bad_request(
                        "missing_image",
                        "no image: send the picture as a file in the multipart field 'image'.",
                    )
                declared = (upload.content_type or "application/octet-stream").split(";")[0]
                if declared.strip().lower() not in IMAGE_TYPES:
                    raise unsupported_type(
                        f"the 'image' part is declared as {declared!r}, not an image; send a "
                        f"PNG, JPEG, WebP, GIF, BMP or TIFF ({', '.join(IMAGE_TYPES[:-1])})."
                    )
                raw_options = form.get("options")
                if raw_options is not None and not isinstance(raw_options, str):
                    raise bad_request(
                        "invalid_options", "'options' must be a text field of JSON, not a file."
                    )
                options = parse_options(raw_options)
                checked = explainer.check(options)
                data = await upload.read()
            finally:
                await form.close()
            if not data:
                raise invalid("invalid_image", "the uploaded image is empty (0 bytes).")
            want_png = prefers_png(request.headers.get("accept"))

            def job(model: Any):
                image = load_image(data, max_pixels=limits.max_pixels)
                return explainer.run(model, image, options, checked, want_png=want_png)

            try:  # the body is read: a message now can only be the client leaving
                rendered = await ticket.run(
                    job, deadline, gone=lambda: client_gone_signal(request.receive)
                )
            except CamlensError:
                raise
            except Exception as exc:  # answered here: the connection stays usable
                log.error("explain failed unexpectedly", exc_info=exc)
                raise internal_error(exc) from None
        if rendered.png is not None:
            return Response(rendered.png, media_type="image/png", headers=rendered.headers)
        return JSONResponse(rendered.body, headers=rendered.headers)

    @app.get("/v1/methods", response_model=MethodsResponse, summary="The CAM methods")
    async def methods() -> dict[str, Any]:
        return {
            "default": DEFAULT_METHOD,
            "methods": [
                {
                    "name": name,
                    "gradients": bool(cls.uses_gradients),
                    "description": DESCRIPTIONS.get(name, cls.__name__),
                }
                for name, cls in METHODS.items()
            ],
        }

    @app.get("/v1/layers", response_model=LayersResponse, summary="The model's layers")
    async def layers() -> dict[str, Any]:
        """Every module with a tensor output, in forward order; ``candidate`` marks those a
        CAM can use (a spatial grid the score depends on)."""
        return {
            "default": explainer.default_layer,
            "layers": [
                {
                    "name": info.name,
                    "kind": info.kind,
                    "shape": list(info.shape),
                    "grid": list(info.grid) if info.grid is not None else None,
                    "candidate": info.candidate,
                }
                for info in explainer.layer_infos
            ],
        }

    @app.get("/healthz", response_model=Health, summary="Liveness and load")
    async def healthz() -> dict[str, Any]:
        stats = pool.stats()
        return {
            "status": "ok",
            "model": explainer.name,
            "device": str(explainer.device),
            "classes": explainer.num_classes,
            "workers": stats.workers,
            "capacity": stats.capacity,
            "admitted": stats.admitted,
            "running": stats.running,
            "served": stats.served,
            "rejected": stats.rejected,
            "timed_out": stats.timed_out,
            "cancelled": stats.cancelled,
            "dual_encoder": explainer.dual is not None,
            "limits": {
                "max_upload_bytes": limits.max_upload_bytes,
                "max_pixels": limits.max_pixels,
                "timeout": limits.timeout,
                "max_concurrency": limits.max_concurrency,
                "queue": limits.queue,
                "header_timeout": limits.header_timeout,
                "max_connections": limits.max_connections,
            },
        }

    @app.get("/v1/options", response_model=ExplainOptions, summary="The default options")
    async def default_options() -> ExplainOptions:
        return ExplainOptions(layer=explainer.default_layer)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(
            STATIC / "index.html",
            headers={"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _version() -> str:
    from .. import __version__

    return __version__
