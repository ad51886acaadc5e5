"""The Keras path's own error (defined in :mod:`camlens.errors`, re-exported here)."""

from __future__ import annotations

from ..errors import KerasSupportError as KerasSupportError
