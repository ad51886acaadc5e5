"""Optional dependencies and the extra that installs each: one table, one error.

A feature whose package is missing raises :class:`MissingDependencyError` naming the extra
(``pip install 'camlens[serve]'``) instead of a bare ``ModuleNotFoundError``. Use
:func:`require` where a feature imports its dependency, or :func:`missing_extra` to turn a
``ModuleNotFoundError`` caught at an entry point (the CLI, ``camlens.<submodule>``) into one.

Light on purpose (no torch): the CLI imports it before anything heavy.
"""

from __future__ import annotations

import importlib
import types

from .errors import MissingDependencyError

# Top-level import name -> the extra of pyproject.toml that installs it (tests/test_extras.py
# checks each against the package metadata).
EXTRA_OF_MODULE = {
    "torchvision": "torchvision",
    "timm": "timm",
    "skimage": "demo",
    "sklearn": "demo",
    "pandas": "evaluate",
    "scipy": "evaluate",
    "fastapi": "serve",
    "uvicorn": "serve",
    "multipart": "serve",
    "python_multipart": "serve",
    "fastapi_offline": "serve",
    "pyarrow": "audit",
    "fsspec": "audit",
    "jinja2": "audit",
    "keras": "keras",
    "tensorflow": "keras",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "ray": "ray",
    "jax": "jax",
    "flax": "jax",
}


def install_hint(extra: str) -> str:
    """``pip install 'camlens[EXTRA]'``."""
    return f"pip install 'camlens[{extra}]'"


def missing(module: str, feature: str, extra: str | None = None) -> MissingDependencyError:
    """The error for ``feature`` lacking the top-level package ``module``."""
    top = module.split(".")[0]
    extra = extra or EXTRA_OF_MODULE.get(top)
    where = (
        f"from the [{extra}] extra: {install_hint(extra)}"
        if extra
        else f"install it: pip install {top}"
    )
    return MissingDependencyError(
        f"{feature} needs {top}, which is not installed; it comes {where}.", extra=extra, name=top
    )


def require(module: str, feature: str, extra: str | None = None) -> types.ModuleType:
    """``import module``, or :class:`MissingDependencyError` naming the extra for ``feature``.

    Only the package itself being absent is turned into the error; a package that is installed
    but fails on import (a broken dependency of its own) raises as it is.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        error = missing_extra(exc, feature, extra, module=module)
        if error is None:
            raise
        raise error from exc


def missing_extra(
    exc: BaseException, feature: str, extra: str | None = None, *, module: str | None = None
) -> MissingDependencyError | None:
    """``exc`` as a :class:`MissingDependencyError` when it is a ``ModuleNotFoundError`` for a
    package of one of camlens' extras (or for ``module``), else ``None``."""
    if isinstance(exc, MissingDependencyError):
        return exc
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    if module is not None and top == module.split(".")[0]:
        return missing(top, feature, extra)
    if top in EXTRA_OF_MODULE:
        return missing(top, feature, extra)
    return None
