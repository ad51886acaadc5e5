"""Evaluation metrics: accumulators (``update`` / ``compute`` / ``reset``) that know whether higher
is better and what they need (see :mod:`camlens.metrics.base`)."""

from __future__ import annotations

from .base import Metric

__all__ = ["Metric"]
