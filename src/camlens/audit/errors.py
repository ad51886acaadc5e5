"""Errors of the dataset audit; each says what to do."""

from __future__ import annotations

from ..core.errors import CamlensError, InvalidInputError


class DataSourceError(InvalidInputError):
    """DATA is not an image folder tree, a CSV/Parquet manifest or a benchmark spec."""


class RunDirError(CamlensError, RuntimeError):
    """RUN_DIR holds another run (other model, data or options) or no run at all."""
