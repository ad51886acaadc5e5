"""``camlens serve``: a web page and an HTTP API that explain uploaded images with one model.

from camlens.models import load_model
from camlens.serve import Limits, create_app, run
app = create_app(load_model("demo"), Limits(max_concurrency=1, queue=16))
# run(app, host="127.0.0.1", port=8000)  # uvicorn with the header deadline and connection limit

Needs the ``serve`` extra (FastAPI, uvicorn, python-multipart, fastapi-offline).
"""

from __future__ import annotations

from .app import create_app
from .errors import ServeError
from .limits import Limits, ServeConfigError
from .server import run, server_config

__all__ = ["Limits", "ServeConfigError", "ServeError", "create_app", "run", "server_config"]
