"""The Keras path's own error (the shared ones are in :mod:`camlens.core.errors`)."""

from __future__ import annotations

from ..core.errors import CamlensError


class KerasSupportError(CamlensError, NotImplementedError):
    """Something camlens does only for PyTorch models (``differentiable=True``, FullGrad, ...)."""
