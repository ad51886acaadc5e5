"""The adapter contract: what a framework adapter gives the method math.

An adapter wraps one model of one framework (PyTorch, Keras, ONNX Runtime, JAX/Flax) and its
target layers. It turns the user's input into a channels-first ``torch.Tensor``, runs the model,
and returns a :class:`Capture` (scores, activations of the target layers
and, where the framework can, the gradients of the scores with respect to them). Methods see the
``Capture`` and nothing of the framework; perturbation methods run the model again through
:meth:`Adapter.predict` (and, where the adapter can, :meth:`Adapter.predict_with_layer_output`).

Each adapter says what it can do in ``capabilities``; each method says what it needs in
``BaseCAM.requires``. A method asked of an adapter that lacks a capability raises
:class:`~camlens.errors.UnsupportedByAdapterError` naming the methods that can run.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from ..targets import Target, resolve_targets, score_targets
from .errors import InvalidInputError, TargetError

#: The activations of named layers (every adapter).
ACTIVATIONS = "activations"
#: Gradients of the target scores with respect to the activations.
GRADIENTS = "gradients"
#: Running the network after a layer on replaced activations (Ablation-CAM's tail).
LAYER_REPLACE = "layer_replace"
#: The model is a ``torch.nn.Module`` (FullGrad's biases, input-gradient pixel methods).
TORCH_MODULES = "torch_modules"

CAPABILITIES = frozenset({ACTIVATIONS, GRADIENTS, LAYER_REPLACE, TORCH_MODULES})

#: Maps a layer's output (a tensor, or e.g. a dict of FPN levels) to ``(B, C, *grid)``.
ReshapeTransform = Callable[[Tensor], Tensor]


@dataclass
class Capture:
    """What a forward/backward pass gave, for ``T`` target sets over ``L`` layers: the only thing
    the method math sees of the model.

    inputs:       the input batch ``(B, C, *spatial)``.
    outputs:      model output as the targets see it (logits), ``(B, ...)``.
    activations:  per layer, ``(B, C, *spatial)`` after ``reshape_transform``.
    gradients:    ``gradients[t][l]``: d(score of target set t)/d(activations[l]), same shape;
                  empty when the method needs no gradients.
    targets:      ``targets[t]``: one target per image.
    scores:       ``scores[t]``: ``(B,)`` target scores.
    """

    inputs: Tensor
    outputs: Tensor
    activations: list[Tensor]
    gradients: list[list[Tensor]] = field(default_factory=list)
    targets: list[list[Target]] = field(default_factory=list)
    scores: list[Tensor] = field(default_factory=list)
    layer_names: list[str] = field(default_factory=list)
    #: the adapter that made it, for methods that run the model again
    adapter: Adapter | None = None


def model_logits(output: object) -> Tensor:
    """What targets score.

    A tensor, ``.logits`` (Hugging Face), ``["logits"]`` / ``["out"]``, a tuple's first item, or
    a list of per-image dicts (torchvision detection models) handed to the targets as it is.
    """
    if isinstance(output, Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, Tensor):
        return logits
    if isinstance(output, dict):
        for key in ("logits", "out"):
            if isinstance(output.get(key), Tensor):
                return output[key]
    if isinstance(output, tuple | list) and output and isinstance(output[0], Tensor):
        return output[0]
    if isinstance(output, list) and output and all(isinstance(o, dict) for o in output):
        return output  # type: ignore[return-value]  # per-image dicts (torchvision detection)
    raise not_scores(output)


def not_scores(output: object) -> TargetError:
    """The error for a model output in which camlens finds no tensor of scores."""
    return TargetError(
        f"the model returned {type(output).__name__}; camlens needs a tensor of scores "
        "(or .logits / ['logits'] / ['out'] / a tuple whose first item is one). "
        "Wrap the model so that it returns the scores tensor."
    )


def check_input(x: object) -> Tensor:
    """Validate an input batch ``(B, C, *spatial)``: a finite floating tensor."""
    if not isinstance(x, Tensor):
        raise InvalidInputError(
            f"input must be a torch.Tensor of shape (B, C, H, W), not {type(x).__name__}."
        )
    if x.ndim < 3:
        raise InvalidInputError(
            f"input must be a batch (B, C, *spatial); got shape {tuple(x.shape)}. "
            "For one image add the batch dimension: x.unsqueeze(0)."
        )
    if not x.is_floating_point():
        raise InvalidInputError(
            f"input must be a floating tensor, got {x.dtype}; convert with x.float() "
            "and normalise as the model expects."
        )
    scope = getattr(_CHECKED, "scope", None)
    if scope is not None and scope[0] is x:  # checked in this pipeline call already
        return x
    # One sum is a twentieth of ``isfinite(x).all()``; only a non-finite sum (a NaN or inf, or
    # finite values that overflow together) needs the exact check. The sum is read as a Python
    # float (two ops in all: every op counts after a model's forward pass has cooled the caches).
    total = x.sum(dtype=torch.float32) if x.element_size() < 4 else x.sum()
    if not math.isfinite(total.item()) and not bool(torch.isfinite(x).all()):
        raise InvalidInputError("input holds NaN or inf values; clean the input before explaining.")
    if scope is not None:
        scope[0] = x
    return x


#: Per thread, the innermost :func:`checks_once` scope: ``[the last batch checked in it]``.
_CHECKED = threading.local()


@contextlib.contextmanager
def checks_once() -> Iterator[None]:
    """Within the block, :func:`check_input` sums a batch once: the pipeline's
    ``prepare_input`` checks it, the adapter's capture then gets the same object and passes it.
    Outside such a block every call checks (the caller's memory may change between calls)."""
    previous = getattr(_CHECKED, "scope", None)
    _CHECKED.scope = [None]
    try:
        yield
    finally:
        _CHECKED.scope = previous


def score_sets(
    target_sets: Sequence[object],
    logits: Tensor,
    batch: int,
    rank_rows: Tensor | None = None,
) -> tuple[list[list[Target]], list[Tensor]]:
    """Per target set, one target per image and their scores ``(B,)``; top-k targets rank the
    classes on ``logits[rank_rows]`` when given (test-time augmentation: the clean image)."""
    ranking = None if rank_rows is None else logits[rank_rows]
    targets = [resolve_targets(t, logits, batch, ranking) for t in target_sets]
    return targets, [score_targets(t, logits) for t in targets]


@runtime_checkable
class Adapter(Protocol):
    """One model of one framework, with its target layers, as the methods see it."""

    #: What this adapter can do: a subset of :data:`CAPABILITIES`.
    capabilities: frozenset[str]

    @property
    def layer_names(self) -> list[str]:
        """The target layers' names (empty until :meth:`ensure_layers` picked one)."""
        ...

    def prepare_input(self, x: object) -> Tensor:
        """The user's input (a tensor, numpy array, framework tensor) as ``(B, C, *spatial)``."""
        ...

    def ensure_layers(self, x: Tensor) -> None:
        """With no target layer given, pick one for input ``x`` (and warn which)."""
        ...

    def capture(
        self,
        x: Tensor,
        target_sets: Sequence[object] | None,
        *,
        gradients: bool = True,
        differentiable: bool = False,
        rank_rows: Tensor | None = None,
    ) -> Capture:
        """One forward pass (and one gradient per target set when ``gradients``)."""
        ...

    def predict(self, x: Tensor) -> Tensor:
        """Logits ``(B, ...)`` of a batch, no gradients, as a torch tensor on ``x``'s device."""
        ...

    def predict_with_layer_output(
        self, x: Tensor, layer_index: int, replace: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits when target layer ``layer_index`` outputs ``replace(its output)``
        (only with :data:`LAYER_REPLACE`; may return a larger batch than ``x``)."""
        ...


@runtime_checkable
class EstimatesCost(Protocol):
    """An adapter that estimates itself what one more image costs in a forward pass (bytes),
    where torch hooks cannot see the model's layers (Keras); others are probed with hooks."""

    def forward_cost(self, x1: Tensor, start: object | None = None) -> int:
        """Peak bytes one more image ``x1`` adds to a forward pass (from layer ``start`` on)."""
        ...


def check_supported(
    method: str, requires: frozenset[str], adapter: Adapter, runnable: list[str]
) -> None:
    """Raise :class:`~camlens.errors.UnsupportedByAdapterError` when ``adapter`` lacks one of
    the capabilities the method ``requires``; ``runnable`` names the methods it can run."""
    missing = sorted(requires - adapter.capabilities)
    if missing:
        from ..errors import UnsupportedByAdapterError

        raise UnsupportedByAdapterError(
            f"{method} needs {' and '.join(missing)}, which a {type(adapter).__name__} model "
            f"cannot give; methods that run on it: {', '.join(runnable) or 'none'}."
        )
