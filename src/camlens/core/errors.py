"""Typed errors: each says what went wrong and what to do about it."""

from __future__ import annotations


class CamlensError(Exception):
    """Base class of every error camlens raises on purpose."""


class LayerNotFoundError(CamlensError, LookupError):
    """A target layer name or module that is not part of the model."""


class LayerNotReachedError(CamlensError, RuntimeError):
    """A target layer that the forward pass never ran, or that the score does not depend on."""


class LayerOutputError(CamlensError, TypeError):
    """A target layer whose output is not a tensor, or that ran more than once in one forward."""


class InvalidInputError(CamlensError, ValueError):
    """An input tensor of the wrong type, rank or dtype, or holding NaN/inf."""


class TargetError(CamlensError, ValueError):
    """A target that does not fit the model output or the batch."""


class MaskError(InvalidInputError):
    """An annotation mask of the wrong shape, dtype or values for the images it annotates."""


class TrainingModeWarning(UserWarning):
    """The model is in training mode: dropout and batch-norm make the map depend on the batch."""


class AutoLayerWarning(UserWarning):
    """Says which layer ``target_layers=None`` chose."""
