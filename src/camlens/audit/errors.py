"""Errors of the dataset audit (defined in :mod:`camlens.errors`, re-exported here)."""

from __future__ import annotations

from ..errors import DataSourceError as DataSourceError
from ..errors import RunDirError as RunDirError
